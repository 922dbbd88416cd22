import type { NodeClient } from '../connection.js';
import { sleep } from '../pool.js';

export interface MoveKeysOptions {
  readonly from: NodeClient;
  /** The receiving node, for DUMP comparisons on BUSYKEY. */
  readonly to: NodeClient;
  readonly toAddress: string;
  readonly slot: number;
  /** The holder serves the slot only with ASKING (it imports it). */
  readonly asking: boolean;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly batch?: number;
  readonly deadlineAt: number;
  /** CLUSTERDOWN / TRYAGAIN (coverage still settling) are retried until then. */
  readonly retryDownUntil: number;
}

export interface MoveKeysResult {
  readonly moved: number;
  /** Keys that exist on both sides with different values: left in place on both (shown as text). */
  readonly conflicts: readonly string[];
  /** Keys that existed on both sides with equal values: replaced. */
  readonly replaced: readonly string[];
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** How a key is shown to people: as text when it is valid UTF-8, else as hex. */
export function keyText(key: Buffer): string {
  const text = key.toString('utf8');
  return Buffer.from(text, 'utf8').equals(key) ? text : `0x${key.toString('hex')}`;
}

async function send(
  client: NodeClient,
  asking: boolean,
  command: (string | number | Buffer)[],
  buffers = false,
): Promise<unknown> {
  const replies = await client.pipeline(asking ? [['ASKING'], command] : [command], { buffers });
  const reply = replies.at(-1);
  if (reply instanceof Error) throw reply;
  return reply;
}

/**
 * Moves every key of a slot with MIGRATE, in batches. BUSYKEY: equal values (DUMP) are replaced, different
 * values are left on both sides and reported. CLUSTERDOWN (coverage still settling) is retried until the deadline.
 */
export async function moveSlotKeys(options: MoveKeysOptions): Promise<MoveKeysResult> {
  const { from, to, slot, asking } = options;
  const colon = options.toAddress.lastIndexOf(':');
  const host = options.toAddress.slice(0, colon);
  const port = Number(options.toAddress.slice(colon + 1));
  const auth =
    options.password === undefined
      ? []
      : options.username
        ? ['AUTH2', options.username, options.password]
        : ['AUTH', options.password];
  const migrate = (keys: readonly Buffer[], replace = false) =>
    send(from, asking, [
      'MIGRATE',
      host,
      port,
      '',
      0,
      10_000,
      ...(replace ? ['REPLACE'] : []),
      ...auth,
      'KEYS',
      ...keys,
    ]);
  const batch = options.batch ?? 200;
  // Keys are bytes: GETKEYSINSLOT is read as Buffers so binary names go out exactly as they came in.
  const conflicts = new Map<string, Buffer>();
  const replaced: string[] = [];
  let moved = 0;

  for (;;) {
    const [page] = await from.pipeline([['CLUSTER', 'GETKEYSINSLOT', slot, batch + conflicts.size]], {
      buffers: true,
    });
    if (page instanceof Error) throw page;
    const listed = (Array.isArray(page) ? page : []) as Buffer[];
    const keys = listed.filter((k) => !conflicts.has(k.toString('hex')));
    if (keys.length === 0) break;
    try {
      await migrate(keys);
      moved += keys.length;
      // A short page was the whole slot; while the slot is open no new key can land on the holder.
      if (listed.length < batch + conflicts.size && conflicts.size === 0) break;
    } catch (error) {
      const text = message(error);
      if (/^(CLUSTERDOWN|TRYAGAIN)/.test(text) && Date.now() < options.retryDownUntil) {
        await sleep(100);
        continue;
      }
      if (!/BUSYKEY/.test(text)) throw error;
      for (const key of keys) {
        const outcome = await migrate([key]).then(
          () => 'moved',
          (e: unknown) => message(e),
        );
        if (outcome === 'moved') {
          moved++;
          continue;
        }
        if (!/BUSYKEY/.test(outcome)) throw new Error(outcome);
        const [mine, theirs] = await Promise.all([
          send(from, asking, ['DUMP', key], true),
          send(to, true, ['DUMP', key], true),
        ]);
        if (Buffer.isBuffer(mine) && Buffer.isBuffer(theirs) && mine.equals(theirs)) {
          await migrate([key], true);
          replaced.push(keyText(key));
          moved++;
        } else {
          conflicts.set(key.toString('hex'), key);
        }
      }
    }
    if (Date.now() > options.deadlineAt)
      throw new Error(`slot ${slot}: keys still moving at the deadline (${moved} moved)`);
  }
  return { moved, conflicts: [...conflicts.values()].map(keyText), replaced };
}
