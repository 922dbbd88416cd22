import { plural } from '../finding.js';
import { parseClusterInfo } from '../info.js';
import { countSlots as countKeysOf } from '../key-counts.js';
import { countSlots, rangesFromSlots, type SlotRange, slotsIn } from '../slot-ranges.js';
import type { ExecContext } from './exec-context.js';
import { rangesText } from './plan-context.js';
import { settleSlots } from './settle-slots.js';
import type { Snapshot } from './snapshot.js';
import { epochIsHighest, moveKeys, onNode, type Runner, StepRefused, waveRunner } from './step-tools.js';
import type { RepairAction, RepairOption } from './types.js';

const ignore = (pattern: RegExp) => (error: Error) => {
  if (!pattern.test(error.message)) throw error;
};

/** Slots of `ranges` that `id`'s own view leaves unassigned; refuses when another node owns one of them. */
function unassignedIn(s: Snapshot, viewer: string, ranges: readonly SlotRange[], owner: string): number[] {
  const view = s.viewOf(viewer);
  if (!view) throw new Error(`${viewer.slice(0, 8)} does not answer`);
  const ownerOf = new Map<number, string>();
  for (const entry of view) for (const slot of slotsIn(entry.slots)) ownerOf.set(slot, entry.id);
  const missing: number[] = [];
  for (const slot of slotsIn(ranges)) {
    const current = ownerOf.get(slot);
    if (current === undefined) missing.push(slot);
    else if (current !== owner && viewer === owner)
      throw new StepRefused(`slot ${slot} is already owned by ${current.slice(0, 8)}: not taking it`);
  }
  return missing;
}

/**
 * Tells every other reachable master directly that `owner` now serves the slots it still sees unassigned
 * (CLUSTER SETSLOT … NODE), so that clients are served without waiting for gossip. Only free slots: a claim
 * another node already has is never overwritten, nor a slot open there. Replicas refuse SETSLOT and learn by gossip; the step's
 * confirmation reads every node either way, so a refused announcement only costs time.
 */
async function announce(s: Snapshot, ctx: ExecContext, owner: string, ranges: readonly SlotRange[]) {
  const masters = s.reachable().filter((id) => id !== owner && s.self(id)?.role === 'master');
  await Promise.all(
    masters.map(async (id) => {
      const self = s.self(id);
      const open = new Set([...(self?.migrating ?? []), ...(self?.importing ?? [])].map((m) => m.slot));
      // A slot open on that master is left to gossip: SETSLOT NODE there would not clear its open state.
      const free = unassignedIn(s, id, ranges, owner).filter((slot) => !open.has(slot));
      if (free.length === 0) return;
      const client = await ctx.client(s, id).catch(() => null);
      await client
        ?.pipeline(free.map((slot) => ['CLUSTER', 'SETSLOT', slot, 'NODE', owner]))
        .catch(() => null);
    }),
  );
}

const label = (s: Snapshot, id: string) => `${s.address(id) ?? 'unknown address'} (${id.slice(0, 8)})`;

/**
 * Nodes whose keys count for a claim: every reachable node but the receiver, except replicas whose master
 * answers (their master's count stands for them) or is the receiver.
 */
function keyHolders(s: Snapshot, receiver: string): string[] {
  const reachable = new Set(s.reachable());
  return [...reachable].filter((id) => {
    if (id === receiver) return false;
    const self = s.self(id);
    if (self?.role !== 'replica' || !self.masterId) return true;
    return self.masterId !== receiver && !reachable.has(self.masterId);
  });
}

/**
 * Refuses to claim slots whose keys a reachable node other than the receiver holds: the claim would strand
 * them. Allowed only where the option itself moves those keys to the receiver (adopt-keys), or where they were
 * counted in the data loss the option was approved with (its lost slots, on a node it does not forget, no more
 * keys than it counted). A node the option forgets that answers again never counts as accepted loss.
 */
async function refuseStranding(
  s: Snapshot,
  ctx: ExecContext,
  a: Extract<RepairAction, { type: 'add-slots' }>,
  option: RepairOption | null,
): Promise<void> {
  const missing = unassignedIn(s, a.node, a.ranges, a.node);
  if (missing.length === 0) return;
  const steps = option?.steps ?? [];
  const moved = new Set(
    steps.flatMap(({ action: x }) =>
      x.type === 'adopt-keys' && x.owner === a.node ? [`${x.slot}:${x.holder}`] : [],
    ),
  );
  const forgotten = new Set(steps.flatMap(({ action: x }) => (x.type === 'forget' ? [x.target] : [])));
  const lossSlots = new Set(slotsIn(option?.loss?.slots ?? []));
  let acceptedLeft = option?.loss?.keys ?? 0;
  const stranded: string[] = [];
  for (const id of keyHolders(s, a.node)) {
    const counts = await countKeysOf(await ctx.client(s, id), missing);
    let keys = 0;
    const slots: number[] = [];
    for (const [slot, n] of counts) {
      if (moved.has(`${slot}:${id}`)) continue;
      if (!forgotten.has(id) && lossSlots.has(slot) && n <= acceptedLeft) {
        acceptedLeft -= n;
        continue;
      }
      keys += n;
      slots.push(slot);
    }
    if (keys === 0) continue;
    const back = forgotten.has(id) ? ', a node this repair was to forget as dead: it answers again' : '';
    stranded.push(
      `${label(s, id)}${back} holds ${plural(keys, 'key')} in ${plural(slots.length, 'slot')} (${rangesText(rangesFromSlots(slots))})`,
    );
  }
  if (stranded.length > 0)
    throw new StepRefused(
      `not giving ${plural(missing.length, 'slot')} to ${label(s, a.node)}: ${stranded.join('; ')}; claiming them would strand those keys, a loss this repair was not approved for. Bring those keys back into the cluster (restart or rejoin their node) or plan again`,
    );
}

const addSlots = (a: Extract<RepairAction, { type: 'add-slots' }>, option: RepairOption | null): Runner =>
  waveRunner(
    (s) => s.everyoneSeesOwner(a.node, a.ranges),
    {
      key: 'claim',
      what: `every node sees ${a.node.slice(0, 8)} owning ${plural(countSlots(a.ranges), 'slot')}`,
      async act(s, ctx) {
        const missing = unassignedIn(s, a.node, a.ranges, a.node);
        if (missing.length > 0) {
          await onNode(ctx, s, a.node, 'CLUSTER', 'ADDSLOTSRANGE', ...rangesFromSlots(missing).flat());
        }
        await announce(s, ctx, a.node, a.ranges);
      },
      confirmed: (n) => n.everyoneSeesOwner(a.node, a.ranges),
    },
    { guard: (s, ctx) => refuseStranding(s, ctx, a, option) },
  );

const failover = (a: Extract<RepairAction, { type: 'failover' }>): Runner => ({
  done: (s) => s.self(a.node)?.role === 'master' && s.everyoneSeesOwner(a.node, a.ranges),
  async run(s, ctx) {
    if (s.self(a.node)?.role !== 'master') await onNode(ctx, s, a.node, 'CLUSTER', 'FAILOVER', a.mode);
    await ctx.until(
      `${a.node.slice(0, 8)} promoted and seen as owner by every node${a.mode === 'FORCE' ? ' (if the masters cannot vote, TAKEOVER is the next option)' : ''}`,
      (n) => n.self(a.node)?.role === 'master' && n.everyoneSeesOwner(a.node, a.ranges),
      ctx.settleMs * 3,
    );
  },
});

const knownBy = (s: Snapshot, target: string) =>
  s.reachable().filter((id) => id !== target && (s.viewOf(id) ?? []).some((e) => e.id === target));

/** Flags that say a node's link to it is down (or it was never reached): nobody talks to it. */
const UNSEEN = ['fail', 'fail?', 'noaddr', 'handshake'];

/**
 * Refuses to forget a node that is not dead any more: it answers, or a reachable node talks to it again
 * (lists it without FAIL or PFAIL). Forgetting it would drop a live node and hand its slots and keys away.
 */
function refuseForgettingLive(s: Snapshot, target: string): void {
  if (s.reachable().includes(target))
    throw new StepRefused(
      `${label(s, target)} answers again: it is not dead, so it is not forgotten (its slots and keys may be its own again); check it and plan again`,
    );
  const seeing = s
    .reachable()
    .filter((id) =>
      (s.viewOf(id) ?? []).some((e) => e.id === target && !e.flags.some((f) => UNSEEN.includes(f))),
    );
  if (seeing.length > 0)
    throw new StepRefused(
      `${target.slice(0, 8)} is no longer seen failed by ${seeing.map((id) => label(s, id)).join(', ')}: it is not forgotten; check it and plan again`,
    );
}

const forget = (a: Extract<RepairAction, { type: 'forget' }>): Runner =>
  waveRunner(
    (s) => knownBy(s, a.target).length === 0,
    {
      key: 'forget',
      what: `no node lists ${a.target.slice(0, 8)} any more`,
      // All at once: CLUSTER FORGET bans the id for 60 s, and gossip from any node that still knows it brings it back.
      async act(s, ctx) {
        await Promise.all(
          knownBy(s, a.target).map((id) =>
            onNode(ctx, s, id, 'CLUSTER', 'FORGET', a.target).catch(ignore(/Unknown node/i)),
          ),
        );
      },
      confirmed: (n) => knownBy(n, a.target).length === 0,
    },
    { guard: async (s) => refuseForgettingLive(s, a.target) },
  );

/**
 * Every node sees `id` with at least the epoch its BUMPEPOCH gave it (above every epoch the cluster had, the
 * lost owner's included), and owning what it owned. Two masters bumped in one wave may draw the same epoch;
 * Redis resolves such a collision by itself by bumping one of them again, which only raises it further.
 */
function epochAccepted(s: Snapshot, id: string, bumpedTo: number, slots: readonly SlotRange[]): boolean {
  const lines = s.linesAbout(id);
  return lines.length > 0 && lines.every((e) => e.configEpoch >= bumpedTo) && s.everyoneSeesOwner(id, slots);
}

const bumpEpoch = (a: Extract<RepairAction, { type: 'bump-epoch' }>): Runner => {
  let slots: readonly SlotRange[] = [];
  let bumpedTo = Number.POSITIVE_INFINITY;
  return waveRunner((s) => epochIsHighest(s, a.node), {
    key: 'claim',
    what: `every node accepts ${a.node.slice(0, 8)} with its new epoch`,
    async act(s, ctx) {
      slots = s.self(a.node)?.slots ?? [];
      await onNode(ctx, s, a.node, 'CLUSTER', 'BUMPEPOCH');
      const info = parseClusterInfo(String(await onNode(ctx, s, a.node, 'CLUSTER', 'INFO')));
      if (!info.ok) throw new Error(`${a.node.slice(0, 8)}: ${info.error.message}`);
      bumpedTo = info.value.myEpoch;
    },
    confirmed: (n) => epochAccepted(n, a.node, bumpedTo, slots),
  });
};

async function countKeys(ctx: ExecContext, s: Snapshot, id: string, slot: number): Promise<number> {
  return Number(await onNode(ctx, s, id, 'CLUSTER', 'COUNTKEYSINSLOT', slot));
}

const adoptKeys = (a: Extract<RepairAction, { type: 'adopt-keys' }>): Runner => ({
  done: async (s, ctx) =>
    !s.hasOpenState(a.holder, a.slot) && (await countKeys(ctx, s, a.holder, a.slot)) === 0,
  async run(s, ctx) {
    const slot = a.slot;
    if (!s.self(a.holder)?.importing.some((m) => m.slot === slot)) {
      await onNode(ctx, s, a.holder, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', a.owner);
    }
    await moveKeys(ctx, s, slot, a.holder, a.owner, true);
    await onNode(ctx, s, a.holder, 'CLUSTER', 'SETSLOT', slot, 'STABLE');
    await ctx.until(`${a.holder.slice(0, 8)} holds no key of slot ${slot} and no open state`, async (n) => {
      return !n.hasOpenState(a.holder, slot) && (await countKeys(ctx, n, a.holder, slot)) === 0;
    });
  },
});

/** The node knows every live node the others know, with no handshake left. */
function joined(s: Snapshot, id: string): boolean {
  const view = s.viewOf(id);
  if (!view) return false;
  const known = new Set(view.filter((e) => !e.flags.includes('handshake')).map((e) => e.id));
  const live = [...s.topology.nodes.values()].filter((n) => !n.failed && n.listedBy > 1).map((n) => n.id);
  const seen = s.linesAbout(id).filter((e) => !e.myself);
  return (
    live.every((other) => known.has(other)) &&
    seen.length > 0 &&
    seen.every((e) => !e.flags.includes('handshake'))
  );
}

const meet = (a: Extract<RepairAction, { type: 'meet' }>): Runner => ({
  done: (s) => joined(s, a.node),
  async run(s, ctx) {
    const peer = s.self(a.peer);
    if (!peer) throw new Error(`${a.peer.slice(0, 8)} does not answer`);
    await onNode(ctx, s, a.node, 'CLUSTER', 'MEET', peer.host, peer.port, peer.busPort);
    await ctx.until(`${a.node.slice(0, 8)} knows the cluster again`, (n) => joined(n, a.node));
  },
});

const replicating = (s: Snapshot, a: Extract<RepairAction, { type: 'replicate' }>) =>
  s.self(a.node)?.masterId === a.master && s.linesAbout(a.node).every((e) => e.masterId === a.master);

const replicate = (a: Extract<RepairAction, { type: 'replicate' }>): Runner => ({
  done: (s) => replicating(s, a),
  async run(s, ctx) {
    await onNode(ctx, s, a.node, 'CLUSTER', 'REPLICATE', a.master);
    await ctx.until(`every node sees ${a.node.slice(0, 8)} as replica of ${a.master.slice(0, 8)}`, (n) =>
      replicating(n, a),
    );
  },
});

/** The runner of one action; `option` (the approved repair it belongs to) bounds what its guards accept. */
export function runnerFor(action: RepairAction, option: RepairOption | null = null): Runner {
  switch (action.type) {
    case 'add-slots':
      return addSlots(action, option);
    case 'failover':
      return failover(action);
    case 'forget':
      return forget(action);
    case 'bump-epoch':
      return bumpEpoch(action);
    case 'adopt-keys':
      return adoptKeys(action);
    case 'settle-slots':
      return settleSlots(action);
    case 'meet':
      return meet(action);
    case 'replicate':
      return replicate(action);
  }
}
