import type { ExecutionResult } from '../core/repair/execute.js';
import type { RepairRequest, RequestEvent, RunSummary } from './requests.js';
import { FINAL_STATUSES } from './requests.js';

export type StepStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

export interface StepProgress {
  readonly index: number;
  readonly where: string;
  readonly command: string;
  readonly status: StepStatus;
  /** Why it was skipped or failed. */
  readonly reason: string | null;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
}

/** Where a repair stands, decided from its record and its versioned events; the Slack door renders it. */
export interface RepairProgress {
  readonly steps: readonly StepProgress[];
  /** The step running now (k of n), if any. */
  readonly current: number | null;
  /** When a worker first took the request, and when it ended. */
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  /** When another worker last took the run over from one that stopped answering. */
  readonly resumedAt: number | null;
  /** Something the runner says right now that is not state (the queue Redis paused it). */
  readonly banner: string | null;
}

const lastAt = (events: readonly RequestEvent[], event: string, step: number) =>
  events.filter((e) => e.event === event && e.step === step).at(-1) ?? null;

export function progressOf(request: RepairRequest, events: readonly RequestEvent[]): RepairProgress {
  const final = FINAL_STATUSES.includes(request.status);
  const steps = request.option.steps.map((s): StepProgress => {
    const failed = lastAt(events, 'step-failed', s.index);
    const skipped = lastAt(events, 'step-skipped', s.index);
    const started = lastAt(events, 'step-started', s.index);
    const finished = lastAt(events, 'step-finished', s.index);
    const reasonOf = (e: RequestEvent) => e.detail.replace(/^step \d+ (skipped|failed): /, '');
    const status: StepStatus = failed
      ? 'failed'
      : skipped
        ? 'skipped'
        : request.finished.includes(s.index)
          ? 'done'
          : !final && (request.step === s.index || (started !== null && request.status === 'running'))
            ? 'running'
            : 'pending';
    return {
      index: s.index,
      where: s.where,
      command: s.command,
      status,
      reason: failed ? reasonOf(failed) : skipped ? reasonOf(skipped) : null,
      startedAt: started?.at ?? null,
      endedAt: finished?.at ?? failed?.at ?? null,
    };
  });
  const claimed = events.find((e) => e.event === 'claimed' || e.event === 'resumed');
  const ended = final ? (events.filter((e) => e.status === request.status).at(-1)?.at ?? null) : null;
  // Steps of one wave run at once: "step k" is the first of those running.
  const running = steps.find((s) => s.status === 'running')?.index ?? null;
  return {
    steps,
    current: final ? null : (running ?? request.step),
    startedAt: claimed?.at ?? null,
    endedAt: claimed ? ended : null,
    resumedAt: events.filter((e) => e.event === 'resumed').at(-1)?.at ?? null,
    banner: null,
  };
}

/** What the run measured: coverage and DBSIZE of every master before and after, for the postmortem. */
export function summaryOf(result: ExecutionResult | null): RunSummary | null {
  if (!result) return null;
  const address = (id: string) =>
    [...(result.before?.nodes ?? []), ...(result.after?.nodes ?? [])].find((n) => n.id === id)?.address ??
    null;
  const ids = [...new Set([...Object.keys(result.dbsizeBefore), ...Object.keys(result.dbsizeAfter)])];
  return {
    slotsBefore: result.before?.slots.covered ?? null,
    slotsAfter: result.after?.slots.covered ?? null,
    stateBefore: result.before?.state ?? null,
    stateAfter: result.after?.state ?? null,
    masters: ids.map((id) => ({
      id,
      address: address(id),
      before: result.dbsizeBefore[id] ?? null,
      after: result.dbsizeAfter[id] ?? null,
    })),
  };
}
