import { plural } from '../finding.js';
import { countSlots } from '../key-counts.js';
import { sleep } from '../pool.js';
import type { ExecContext } from './exec-context.js';
import { keyText } from './move-keys.js';
import type { Snapshot } from './snapshot.js';

/** Keys of each slot by node id and slot, as COUNTKEYSINSLOT counted them. */
export type KeyCounts = ReadonlyMap<string, ReadonlyMap<number, number>>;

/** Non-zero key counts of `slots` on every reachable master (a script where allowed, else pipelined). */
export async function countKeys(s: Snapshot, ctx: ExecContext, slots: readonly number[]): Promise<KeyCounts> {
  const counts = new Map<string, ReadonlyMap<number, number>>();
  await Promise.all(
    s.masters().map(async (id) => {
      counts.set(id, await countSlots(await ctx.client(s, id), slots));
    }),
  );
  return counts;
}

/** The keys of each slot, gathered from every master that held some. */
export interface SlotKeys {
  readonly keys: ReadonlyMap<number, readonly Buffer[]>;
  /** Keys past the bound, not gathered (so not read back). */
  readonly unread: number;
}

/** Keys held for the read-back at most: 1,000,000 short names are ~100 MB of heap. */
export const MAX_READ_BACK_KEYS = 1_000_000;
/** Redirects a key may take before it counts as unroutable (cluster clients give up after a few too). */
const MAX_HOPS = 5;
/** Commands per pipeline. */
const BATCH = 2000;
/** Keys named per slot and cause in a failure. */
const NAMED = 5;

const short = (id: string) => id.slice(0, 8);

/**
 * GETKEYSINSLOT of every slot on every master that counted keys there, pipelined per node: taken before keys
 * move, it is the list the read-back checks afterwards. Bounded by `limit` keys in all.
 */
export async function collectKeys(
  s: Snapshot,
  ctx: ExecContext,
  counts: KeyCounts,
  slots: readonly number[],
  limit = MAX_READ_BACK_KEYS,
): Promise<SlotKeys> {
  const wanted = new Set(slots);
  let budget = limit;
  let unread = 0;
  const asks = [...counts].map(([id, mine]) => {
    const pages: [number, number][] = [];
    for (const [slot, count] of mine) {
      if (!wanted.has(slot) || count <= 0) continue;
      const take = Math.min(count, budget);
      budget -= take;
      unread += count - take;
      if (take > 0) pages.push([slot, take]);
    }
    return { id, pages };
  });
  const seen = new Map<number, Map<string, Buffer>>();
  await Promise.all(
    asks.map(async ({ id, pages }) => {
      if (pages.length === 0) return;
      const client = await ctx.client(s, id);
      for (let i = 0; i < pages.length; ) {
        // A pipeline of at most BATCH slots or ~BATCH*20 keys, so one reply stays small.
        const batch: [number, number][] = [];
        let size = 0;
        while (i < pages.length && batch.length < BATCH && (batch.length === 0 || size < BATCH * 20)) {
          const page = pages[i++] as [number, number];
          batch.push(page);
          size += page[1];
        }
        const replies = await client.pipeline(
          batch.map(([slot, take]) => ['CLUSTER', 'GETKEYSINSLOT', slot, take]),
          { buffers: true },
        );
        replies.forEach((reply, k) => {
          if (reply instanceof Error) throw new Error(`${short(id)}: ${reply.message}`);
          const slot = (batch[k] as [number, number])[0];
          const into = seen.get(slot) ?? new Map<string, Buffer>();
          seen.set(slot, into);
          for (const key of (Array.isArray(reply) ? reply : []) as Buffer[])
            into.set(key.toString('hex'), key);
        });
      }
    }),
  );
  return { keys: new Map([...seen].map(([slot, keys]) => [slot, [...keys.values()]])), unread };
}

interface Visit {
  readonly slot: number;
  readonly key: Buffer;
  readonly node: string;
  readonly asking: boolean;
  /** Node ids visited before this one. */
  readonly trail: readonly string[];
}

/** Node ids by every address they answer or are announced on (MOVED names the announced one). */
function idsByAddress(s: Snapshot): Map<string, string> {
  const ids = new Map<string, string>();
  for (const node of s.topology.nodes.values()) {
    if (node.address) ids.set(node.address, node.id);
    if (node.view?.address) ids.set(node.view.address, node.id);
  }
  return ids;
}

/** Why keys of a slot cannot be read, grouped by cause. */
class Unreadable {
  private readonly bySlot = new Map<number, Map<string, Buffer[]>>();

  add(slot: number, cause: string, key: Buffer): void {
    const causes = this.bySlot.get(slot) ?? new Map<string, Buffer[]>();
    this.bySlot.set(slot, causes);
    const keys = causes.get(cause);
    if (keys) keys.push(key);
    else causes.set(cause, [key]);
  }

  /** One line per slot: how many keys, which, and why. */
  reasons(total: (slot: number) => number): Map<number, string> {
    const out = new Map<number, string>();
    for (const [slot, causes] of this.bySlot) {
      const failed = [...causes.values()].reduce((n, keys) => n + keys.length, 0);
      const parts = [...causes].map(([cause, keys]) => {
        const named = keys.slice(0, NAMED).map((k) => JSON.stringify(keyText(k)));
        const more = keys.length > NAMED ? ` and ${keys.length - NAMED} more` : '';
        return `${named.join(', ')}${more}: ${cause}`;
      });
      out.set(
        slot,
        `${failed} of ${plural(total(slot), 'key')} cannot be read through the cluster: ${parts.join('; ')}`,
      );
    }
    return out;
  }
}

/**
 * Reads every key back the way a cluster client does: it starts at the node `start` names for the slot, follows
 * MOVED and ASK (ASKING first) at most MAX_HOPS times, and counts the key readable when a node serves it
 * (EXISTS 1). Pipelined per node and per hop, so the cost is a few round trips per node whatever the count.
 * Returns, for each slot with a key that cannot be read, which keys and why.
 */
export async function readBack(
  s: Snapshot,
  ctx: ExecContext,
  slotKeys: ReadonlyMap<number, readonly Buffer[]>,
  start: (slot: number) => string | null,
): Promise<Map<number, string>> {
  const ids = idsByAddress(s);
  const unreadable = new Unreadable();
  const missing: Visit[] = [];
  let pending: Visit[] = [];
  for (const [slot, keys] of slotKeys) {
    const node = start(slot);
    for (const key of keys) {
      if (node) pending.push({ slot, key, node, asking: false, trail: [] });
      else unreadable.add(slot, 'in a slot nobody owns', key);
    }
  }
  while (pending.length > 0) {
    const next: Visit[] = [];
    let busy = false;
    const byNode = new Map<string, Visit[]>();
    for (const visit of pending) {
      const visits = byNode.get(visit.node);
      if (visits) visits.push(visit);
      else byNode.set(visit.node, [visit]);
    }
    await Promise.all(
      [...byNode].map(async ([id, visits]) => {
        const client = await ctx.client(s, id).catch((error: unknown) => error as Error);
        if (client instanceof Error) {
          for (const v of visits)
            unreadable.add(v.slot, `${short(id)} unreachable (${client.message})`, v.key);
          return;
        }
        for (let i = 0; i < visits.length; i += BATCH) {
          const batch = visits.slice(i, i + BATCH);
          const commands = batch.flatMap((v) =>
            v.asking ? [['ASKING'], ['EXISTS', v.key]] : [['EXISTS', v.key]],
          );
          const replies = await client.pipeline(commands);
          let at = 0;
          for (const v of batch) {
            at += v.asking ? 2 : 1;
            const reply = replies[at - 1];
            if (!(reply instanceof Error)) {
              if (Number(reply) !== 1) missing.push(v);
              continue;
            }
            const redirect = /^(MOVED|ASK) \d+ (\S+)$/.exec(reply.message);
            const trail = [...v.trail, id];
            if (redirect) {
              const to = ids.get(redirect[2] as string);
              if (!to)
                unreadable.add(
                  v.slot,
                  `sent by ${short(id)} to ${redirect[2]}, no node of the cluster`,
                  v.key,
                );
              else if (trail.length > MAX_HOPS)
                unreadable.add(v.slot, `redirect loop (${[...trail, to].map(short).join(' → ')})`, v.key);
              else next.push({ slot: v.slot, key: v.key, node: to, asking: redirect[1] === 'ASK', trail });
            } else if (/^(TRYAGAIN|CLUSTERDOWN)/.test(reply.message) && trail.length <= MAX_HOPS) {
              busy = true;
              next.push({ ...v, trail });
            } else {
              unreadable.add(v.slot, `refused by ${short(id)} (${reply.message})`, v.key);
            }
          }
        }
      }),
    );
    // As a client does on CLUSTERDOWN / TRYAGAIN: wait a moment, then ask again.
    if (busy) await sleep(100);
    pending = next;
  }
  await explainMissing(s, ctx, missing, unreadable);
  return unreadable.reasons((slot) => slotKeys.get(slot)?.length ?? 0);
}

/** For keys the node clients end up at does not have: is any other master keeping them where clients never go? */
async function explainMissing(
  s: Snapshot,
  ctx: ExecContext,
  missing: readonly Visit[],
  unreadable: Unreadable,
): Promise<void> {
  if (missing.length === 0) return;
  const slots = [...new Set(missing.map((v) => v.slot))];
  const holders = new Map<string, string[]>();
  await Promise.all(
    s.masters().map(async (id) => {
      const client = await ctx.client(s, id).catch(() => null);
      if (!client) return;
      const replies = await client
        .pipeline(
          slots.map((slot) => ['CLUSTER', 'GETKEYSINSLOT', slot, 100_000]),
          { buffers: true },
        )
        .catch(() => []);
      for (const reply of replies)
        for (const key of (Array.isArray(reply) ? reply : []) as Buffer[]) {
          const hex = key.toString('hex');
          holders.set(hex, [...(holders.get(hex) ?? []), id]);
        }
    }),
  );
  for (const v of missing) {
    const end = short(v.node);
    const on = (holders.get(v.key.toString('hex')) ?? []).filter((id) => id !== v.node);
    unreadable.add(
      v.slot,
      on.length > 0
        ? `not found at ${end}, where clients end up, but held by ${on.map(short).join(', ')}, which sends clients away`
        : `not found at ${end}, where clients end up, nor on any other master (deleted meanwhile, or lost)`,
      v.key,
    );
  }
}
