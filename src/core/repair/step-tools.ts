import { plural } from '../finding.js';
import type { ExecContext } from './exec-context.js';
import { moveSlotKeys } from './move-keys.js';
import type { Snapshot } from './snapshot.js';

/** How the executor handles one kind of action: already done? do it; confirmed? */
export interface Runner {
  done(snapshot: Snapshot, ctx: ExecContext): boolean | Promise<boolean>;
  run(snapshot: Snapshot, ctx: ExecContext): Promise<void>;
  /**
   * Checked on the current state before a step that is not done acts (every step of a wave before any acts):
   * throws StepRefused when acting now would lose data the approved option did not accept.
   */
  guard?(snapshot: Snapshot, ctx: ExecContext): Promise<void>;
  /**
   * Steps that can run side by side: consecutive steps with the same wave act at once and are confirmed by one
   * pass of re-reading every node (one wait for gossip instead of one per step).
   */
  readonly wave?: Wave;
}

export interface Wave {
  /** Consecutive steps with the same key form one wave. */
  readonly key: string;
  act(snapshot: Snapshot, ctx: ExecContext): Promise<void>;
  confirmed(snapshot: Snapshot, ctx: ExecContext): boolean | Promise<boolean>;
  /** What confirmation waits for, for the error when it does not come. */
  readonly what: string;
}

/** A runner whose run() is its wave's act() then waiting for its confirmation alone. */
export function waveRunner(
  done: Runner['done'],
  wave: Wave,
  { settleFactor = 1, guard }: { settleFactor?: number; guard?: Runner['guard'] } = {},
): Runner {
  return {
    done,
    wave,
    ...(guard ? { guard } : {}),
    async run(s, ctx) {
      await wave.act(s, ctx);
      await ctx.until(wave.what, (n) => wave.confirmed(n, ctx), ctx.settleMs * settleFactor);
    },
  };
}

/** A step that cannot go on; its message names what a person must decide. */
export class StepRefused extends Error {
  override readonly name = 'StepRefused';
}

export async function onNode(
  ctx: ExecContext,
  snapshot: Snapshot,
  id: string,
  ...command: (string | number)[]
) {
  const client = await ctx.client(snapshot, id);
  return client.call(command[0] as string, ...command.slice(1));
}

export function epochIsHighest(s: Snapshot, id: string): boolean {
  const view = s.viewOf(id) ?? [];
  const mine = view.find((e) => e.myself)?.configEpoch ?? -1;
  return view.filter((e) => e.role === 'master' && !e.myself).every((e) => e.configEpoch < mine);
}

export async function moveKeys(
  ctx: ExecContext,
  s: Snapshot,
  slot: number,
  from: string,
  to: string,
  asking: boolean,
  { quiet = false }: { quiet?: boolean } = {},
): Promise<number> {
  const toAddress = s.topology.nodes.get(to)?.address;
  if (!toAddress) throw new Error(`${to.slice(0, 8)} has no address`);
  const result = await moveSlotKeys({
    from: await ctx.client(s, from),
    to: await ctx.client(s, to),
    toAddress,
    slot,
    asking,
    username: ctx.probe.username,
    password: ctx.probe.password,
    deadlineAt: Date.now() + Math.max(60_000, ctx.settleMs * 4),
    retryDownUntil: Date.now() + ctx.settleMs,
  });
  if (result.moved > 0 && !quiet)
    ctx.note(`slot ${slot}: moved ${plural(result.moved, 'key')} to ${to.slice(0, 8)}`);
  if (result.replaced.length > 0)
    ctx.note(
      `slot ${slot}: ${plural(result.replaced.length, 'key')} existed on both sides with equal values and were replaced`,
    );
  if (result.conflicts.length > 0) {
    throw new StepRefused(
      `slot ${slot}: ${plural(result.conflicts.length, 'key')} exist on both ${from.slice(0, 8)} and ${to.slice(0, 8)} with different values; both copies are left in place for a person to decide: ${result.conflicts.slice(0, 20).join(', ')}${result.conflicts.length > 20 ? ' …' : ''}`,
    );
  }
  return result.moved;
}
