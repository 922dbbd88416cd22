import { type DiagnoseOptions, diagnose } from '../diagnose.js';
import type { Report } from '../report.js';
import { runnerFor } from './actions.js';
import { ExecContext } from './exec-context.js';
import { fingerprintOf } from './fingerprint.js';
import { type Journal, memoryJournal } from './journal.js';
import { StepRefused } from './step-tools.js';
import type { RepairOption, RepairStep } from './types.js';

export type ExecutionEvent =
  | { readonly type: 'step-started'; readonly step: RepairStep }
  | { readonly type: 'step-skipped'; readonly step: RepairStep; readonly reason: string }
  | { readonly type: 'step-note'; readonly step: RepairStep; readonly message: string }
  | { readonly type: 'step-finished'; readonly step: RepairStep; readonly ms: number }
  | { readonly type: 'step-failed'; readonly step: RepairStep; readonly error: string };

export type ExecutionStatus = 'done' | 'failed' | 'aborted' | 'stale' | 'refused' | 'unreachable';

export interface ExecutionResult {
  readonly status: ExecutionStatus;
  readonly error: string | null;
  /** The step it stopped at (failed or not started because of the abort), else null. */
  readonly stoppedAt: number | null;
  readonly before: Report | null;
  readonly after: Report | null;
  /** DBSIZE of every master, by node id. */
  readonly dbsizeBefore: Readonly<Record<string, number | null>>;
  readonly dbsizeAfter: Readonly<Record<string, number | null>>;
  /** Steps not finished when it stopped: exactly what is left of the approved repair. */
  readonly remaining: readonly RepairStep[];
}

export interface ExecuteOptions extends DiagnoseOptions {
  readonly journal?: Journal;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: ExecutionEvent) => void;
  /** Required for options whose risk is data-loss. */
  readonly acceptDataLoss?: boolean;
}

const mastersDbsize = (report: Report | null): Record<string, number | null> =>
  Object.fromEntries((report?.nodes ?? []).filter((n) => n.role === 'master').map((n) => [n.id, n.dbsize]));

/** How long nodes get to agree after a step: several node timeouts, never under 5 s. */
function settleMs(report: Report): number {
  const timeouts = report.config.map((c) => c.nodeTimeoutMs ?? 0);
  return Math.max(5000, 4 * Math.max(15_000 * (timeouts.length === 0 ? 1 : 0), ...timeouts));
}

/** The state before and after: the plan's fingerprint needs no second look at moving slots. */
async function probe(seeds: readonly string[], options: DiagnoseOptions): Promise<Report | string> {
  const result = await diagnose(seeds, { liveCheckMs: 0, ...options });
  return result.ok ? result.value : result.error.message;
}

/**
 * Runs one repair option: refuses a stale plan, skips what is already done, verifies every step by re-reading
 * every node's view, records finished steps in the journal, honours the abort signal between steps.
 */
export async function executeRepair(
  option: RepairOption,
  seeds: readonly string[],
  options: ExecuteOptions = {},
): Promise<ExecutionResult> {
  const emit = options.onEvent ?? (() => {});
  const journal = options.journal ?? memoryJournal();
  const empty = {
    before: null,
    after: null,
    dbsizeBefore: {},
    dbsizeAfter: {},
    stoppedAt: null,
    remaining: option.steps,
  };
  if (option.risk === 'data-loss' && !options.acceptDataLoss) {
    return {
      ...empty,
      status: 'refused',
      error: `"${option.title}" can lose data (${option.loss?.description ?? 'see the plan'}): it needs explicit acceptance`,
    };
  }
  const before = await probe(seeds, options);
  if (typeof before === 'string') return { ...empty, status: 'unreachable', error: before };
  const finished = await journal.finishedSteps();
  // Stale refusal only before step 1 starts: once a step ran, the approved intent is finished from here.
  const resuming = await journal.anyStarted();
  if (!resuming && fingerprintOf(before) !== option.fingerprint) {
    return {
      ...empty,
      before,
      dbsizeBefore: mastersDbsize(before),
      status: 'stale',
      error:
        'the cluster changed since this plan was made (slot owners, roles, FAIL flags, open slots or epochs): plan again',
    };
  }

  let status: ExecutionStatus = 'done';
  let error: string | null = null;
  let stoppedAt: number | null = null;
  let current: RepairStep | null = null;
  const ctx = new ExecContext(seeds, options, settleMs(before), (message) => {
    if (current) emit({ type: 'step-note', step: current, message });
  });
  try {
    for (const step of option.steps) {
      if (finished.has(step.index)) {
        emit({ type: 'step-skipped', step, reason: 'finished by an earlier run' });
        continue;
      }
      const stop = options.signal?.aborted
        ? typeof options.signal.reason === 'string'
          ? options.signal.reason
          : 'cancelled'
        : await journal.markStarted(step.index, `step ${step.index}: ${step.command}`);
      if (stop) {
        status = 'aborted';
        error = stop;
        stoppedAt = step.index;
        break;
      }
      current = step;
      const runner = runnerFor(step.action);
      const snapshot = await ctx.snapshot();
      if (await runner.done(snapshot, ctx)) {
        emit({ type: 'step-skipped', step, reason: 'already done' });
      } else {
        const began = Date.now();
        emit({ type: 'step-started', step });
        await runner.run(snapshot, ctx);
        emit({ type: 'step-finished', step, ms: Date.now() - began });
      }
      await journal.markFinished(step.index, `step ${step.index} done`);
    }
  } catch (caught) {
    status = 'failed';
    error = caught instanceof Error ? caught.message : String(caught);
    stoppedAt = current?.index ?? null;
    if (current)
      emit({
        type: 'step-failed',
        step: current,
        error: caught instanceof StepRefused ? `refused: ${error}` : error,
      });
  } finally {
    ctx.close();
  }
  const after = await probe(seeds, options);
  const done = await journal.finishedSteps().catch(() => finished);
  return {
    remaining: status === 'done' ? [] : option.steps.filter((step) => !done.has(step.index)),
    status,
    error,
    stoppedAt,
    before,
    after: typeof after === 'string' ? null : after,
    dbsizeBefore: mastersDbsize(before),
    dbsizeAfter: mastersDbsize(typeof after === 'string' ? null : after),
  };
}
