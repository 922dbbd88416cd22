import type { Logger } from 'pino';
import type { ExecutionEvent } from '../core/repair/execute.js';
import type { Journal } from '../core/repair/journal.js';
import type { NoteKind } from './requests.js';

export interface ProgressWriterOptions {
  readonly log: Logger;
  /** Shows the request's latest version (never throws). */
  readonly render: () => Promise<void>;
  /** Shows a note on the last version shown, while the queue Redis cannot be read. */
  readonly banner: (text: string) => Promise<void>;
  /** Records why a step was skipped or failed in the request's events. */
  readonly note: (step: number, kind: NoteKind, why: string) => Promise<unknown>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Keeps a repair's one progress message current: a render after every journal entry (coalesced: a render always
 * shows the latest version), skip and failure reasons written to the request's events, notes while paused.
 */
export function progressWriter(options: ProgressWriterOptions) {
  let chain = Promise.resolve();
  let banners = Promise.resolve();
  let queued = false;
  const render = () => {
    if (queued) return;
    queued = true;
    chain = chain.then(() => {
      queued = false;
      return options.render();
    });
  };
  const note = (step: number, kind: NoteKind, why: string) => {
    chain = chain
      .then(() => options.note(step, kind, why))
      .then(render)
      .catch((error: unknown) => options.log.warn({ err: message(error) }, 'progress note failed'));
  };
  return {
    journal: (inner: Journal): Journal => ({
      ...inner,
      markStarted: async (step, detail) => {
        const stop = await inner.markStarted(step, detail);
        if (!stop) render();
        return stop;
      },
      markFinished: async (step, detail) => {
        await inner.markFinished(step, detail);
        render();
      },
    }),
    event: (event: ExecutionEvent) => {
      if (event.type === 'step-skipped' && event.reason !== 'finished by an earlier run')
        note(event.step.index, 'skipped', event.reason);
      if (event.type === 'step-failed') note(event.step.index, 'failed', event.error);
    },
    banner: (text: string) => {
      banners = banners.then(() => options.banner(text));
    },
    flush: async () => {
      await banners;
      await chain;
    },
  };
}
