import { sleep } from '../core/pool.js';
import type { Journal } from '../core/repair/journal.js';
import type { RequestStore } from './requests.js';

export interface RequestJournalOptions {
  readonly store: RequestStore;
  readonly id: string;
  /** The runner's token: a step is recorded only while the request is still this runner's. */
  readonly token: string;
  /** Stop waiting for the queue Redis after this long (the repair then stops at the step boundary). */
  readonly pauseLimitMs?: number;
  readonly signal?: AbortSignal;
  /** Told once when the queue Redis stops answering at a step boundary, and once when it is back. */
  readonly onPause?: (paused: boolean) => void;
  readonly now?: () => number;
}

/** The queue Redis refused or lost the command: worth waiting for, unlike a script's answer. */
const unavailable = (error: unknown): boolean =>
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|enableOfflineQueue|max retries|MaxRetriesPerRequest|LOADING|READONLY|not confirmed by the queue Redis replicas/i.test(
    error instanceof Error ? error.message : String(error),
  );

/**
 * The executor's journal kept in the request itself, so a worker that takes the request over knows which step
 * was started and which finished. While the queue Redis is down the repair waits at the step boundary (it
 * cannot record what it does) and goes on when it is back.
 */
export function requestJournal(options: RequestJournalOptions): Journal {
  const now = options.now ?? Date.now;
  const limit = options.pauseLimitMs ?? 30 * 60_000;
  const persist = async <T>(what: () => Promise<T>): Promise<T> => {
    const began = now();
    let paused = false;
    for (;;) {
      try {
        const value = await what();
        if (paused) options.onPause?.(false);
        return value;
      } catch (error) {
        if (!unavailable(error) || now() - began > limit || options.signal?.aborted) throw error;
        if (!paused) options.onPause?.(true);
        paused = true;
        await sleep(500);
      }
    }
  };
  const request = () => persist(() => options.store.get(options.id));
  return {
    finishedSteps: async () => new Set((await request())?.finished ?? []),
    anyStarted: async () => {
      const r = await request();
      return r !== null && (r.finished.length > 0 || r.step !== null);
    },
    async markStarted(step, detail) {
      const result = await persist(() =>
        options.store.step(options.id, options.token, step, 'start', detail, now()),
      );
      if (result === 'ok') return null;
      if (result === 'cancel') return 'cancelled';
      return 'another worker took the repair over (this one stopped answering for too long)';
    },
    async markFinished(step, detail) {
      const result = await persist(() =>
        options.store.step(options.id, options.token, step, 'done', detail, now()),
      );
      if (result !== 'ok') throw new Error('another worker took the repair over while this step ran');
    },
  };
}
