import { type DiagnoseOptions, diagnose } from '../diagnose.js';
import { DEFAULT_NODE_TIMEOUT_MS } from '../info.js';
import type { Report } from '../report.js';
import { runnerFor } from './actions.js';
import { ExecContext } from './exec-context.js';
import { fingerprintOf } from './fingerprint.js';
import { type Journal, memoryJournal } from './journal.js';
import type { Snapshot } from './snapshot.js';
import { type Runner, StepRefused } from './step-tools.js';
import type { RepairOption, RepairStep, SlotResult } from './types.js';

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
  /** Each slot a settle step worked on, with its result. */
  readonly slots: readonly SlotResult[];
}

export interface ExecuteOptions extends DiagnoseOptions {
  readonly journal?: Journal;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: ExecutionEvent) => void;
  /** Required for options whose risk is data-loss. */
  readonly acceptDataLoss?: boolean;
  /** A report read just now (the CLI's `fix` plans and runs at once): spares the first probe. */
  readonly freshReport?: Report;
}

const mastersDbsize = (report: Report | null): Record<string, number | null> =>
  Object.fromEntries((report?.nodes ?? []).filter((n) => n.role === 'master').map((n) => [n.id, n.dbsize]));

/**
 * How long nodes get to agree after a step: four node timeouts, never under 5 s. A timeout that could not be read
 * (CONFIG refused by an ACL) counts as Redis's default, never as 0.
 */
export function settleMs(report: Pick<Report, 'config'>): number {
  const timeouts = report.config.map((c) => c.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS);
  return Math.max(5000, 4 * Math.max(...(timeouts.length > 0 ? timeouts : [DEFAULT_NODE_TIMEOUT_MS])));
}

/** The state before and after: the plan's fingerprint needs no second look at moving slots. */
async function probe(seeds: readonly string[], options: DiagnoseOptions): Promise<Report | string> {
  const result = await diagnose(seeds, { liveCheckMs: 0, ...options });
  return result.ok ? result.value : result.error.message;
}

interface Planned {
  readonly step: RepairStep;
  readonly runner: Runner;
}

/** The step indexes of each wave, in plan order: steps of one wave act at once and are confirmed together. */
export const stepWaves = (steps: readonly RepairStep[]): number[][] =>
  wavesOf(steps, null).map((wave) => wave.map(({ step }) => step.index));

/** Consecutive steps whose runners share a wave key, in plan order; every other step is a wave of its own. */
function wavesOf(steps: readonly RepairStep[], option: RepairOption | null): Planned[][] {
  const waves: Planned[][] = [];
  for (const step of steps) {
    const planned = { step, runner: runnerFor(step.action, option) };
    const last = waves.at(-1);
    const key = planned.runner.wave?.key;
    if (last && key !== undefined && last[0]?.runner.wave?.key === key) last.push(planned);
    else waves.push([planned]);
  }
  return waves;
}

/**
 * Acts on every step of a wave at once, then re-reads every node until all of them are confirmed: one wait
 * for gossip for the whole wave. Throws a WaveError naming the first step that failed or is still unconfirmed.
 */
async function actTogether(
  pending: readonly Planned[],
  snapshot: Snapshot,
  ctx: ExecContext,
  emit: (event: ExecutionEvent) => void,
): Promise<void> {
  for (const { step } of pending) emit({ type: 'step-started', step });
  const acted = await Promise.allSettled(pending.map(({ runner }) => runner.wave?.act(snapshot, ctx)));
  const failed = acted.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    const reason = (acted[failed] as PromiseRejectedResult).reason;
    throw new WaveError(pending[failed]?.step ?? null, reason);
  }
  let open: readonly Planned[] = pending;
  try {
    await ctx.until(pending.map(({ runner }) => runner.wave?.what).join('; '), async (n) => {
      const still: Planned[] = [];
      for (const planned of open) if (!(await planned.runner.wave?.confirmed(n, ctx))) still.push(planned);
      open = still;
      return open.length === 0;
    });
  } catch (caught) {
    const what = open.map(({ runner }) => runner.wave?.what).join('; ');
    const message = caught instanceof Error ? caught.message.replace(/:.*$/s, `: ${what}`) : String(caught);
    throw new WaveError(open[0]?.step ?? null, new Error(message));
  }
}

/** A wave's failure, naming the step it belongs to. */
class WaveError extends Error {
  constructor(
    readonly step: RepairStep | null,
    readonly reason: unknown,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
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
    slots: [],
  };
  if (option.risk === 'data-loss' && !options.acceptDataLoss) {
    return {
      ...empty,
      status: 'refused',
      error: `"${option.title}" can lose data (${option.loss?.description ?? 'see the plan'}): it needs explicit acceptance`,
    };
  }
  const before = options.freshReport ?? (await probe(seeds, options));
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
    for (const wave of wavesOf(option.steps, option)) {
      const todo = wave.filter(({ step }) => {
        if (!finished.has(step.index)) return true;
        emit({ type: 'step-skipped', step, reason: 'finished by an earlier run' });
        return false;
      });
      // Cancel is checked before each step is marked started; a wave stopped here has acted on nothing yet.
      let stop: string | null = null;
      for (const { step } of todo) {
        current = step;
        stop = options.signal?.aborted
          ? typeof options.signal.reason === 'string'
            ? options.signal.reason
            : 'cancelled'
          : await journal.markStarted(step.index, `step ${step.index}: ${step.command}`);
        if (stop) break;
      }
      if (stop) {
        status = 'aborted';
        error = stop;
        stoppedAt = todo[0]?.step.index ?? current?.index ?? null;
        break;
      }
      const snapshot = await ctx.snapshot();
      const pending: Planned[] = [];
      for (const planned of todo) {
        current = planned.step;
        if (await planned.runner.done(snapshot, ctx)) {
          emit({ type: 'step-skipped', step: planned.step, reason: 'already done' });
          await journal.markFinished(planned.step.index, `step ${planned.step.index} done`);
        } else pending.push(planned);
      }
      if (pending.length === 0) continue;
      // Every step of the wave is checked before any acts: a refusal leaves the whole wave untouched.
      for (const planned of pending) {
        current = planned.step;
        await planned.runner.guard?.(snapshot, ctx);
      }
      const began = Date.now();
      // Only runners with a wave share one (wavesOf), so a step of its own runs and confirms by itself.
      const [only] = pending;
      if (pending.length === 1 && only) {
        current = only.step;
        emit({ type: 'step-started', step: only.step });
        await only.runner.run(snapshot, ctx);
        emit({ type: 'step-finished', step: only.step, ms: Date.now() - began });
        await journal.markFinished(only.step.index, `step ${only.step.index} done`);
        continue;
      }
      current = pending[0]?.step ?? null;
      await actTogether(pending, snapshot, ctx, emit);
      for (const { step } of pending) {
        emit({ type: 'step-finished', step, ms: Date.now() - began });
        await journal.markFinished(step.index, `step ${step.index} done`);
      }
    }
  } catch (thrown) {
    const caught = thrown instanceof WaveError ? thrown.reason : thrown;
    if (thrown instanceof WaveError && thrown.step) current = thrown.step;
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
    slots: ctx.slotResults,
  };
}
