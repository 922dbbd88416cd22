import { type ConnectOptions, connectNode, type NodeClient } from '../connection.js';
import { sleep } from '../pool.js';
import type { ProbeOptions } from '../probe.js';
import { type Snapshot, takeSnapshot } from './snapshot.js';
import type { SlotResult } from './types.js';

const REPAIR_MAX_REPLY_BYTES = 512 * 1024 * 1024;

/** What a step may do: look at the cluster, talk to one node, wait for agreement. */
export class ExecContext {
  private readonly clients = new Map<string, Promise<NodeClient>>();
  /** Each slot's result, from the settle steps run so far. */
  readonly slotResults: SlotResult[] = [];

  constructor(
    readonly seeds: readonly string[],
    readonly probe: ProbeOptions,
    /** How long nodes get to agree after a step (derived from cluster-node-timeout). */
    readonly settleMs: number,
    readonly note: (message: string) => void,
  ) {}

  snapshot(): Promise<Snapshot> {
    return takeSnapshot(this.seeds, this.probe);
  }

  /** A connection to the node for commands that may take seconds (MIGRATE); kept until close(). */
  client(snapshot: Snapshot, id: string): Promise<NodeClient> {
    const existing = this.clients.get(id);
    if (existing) return existing;
    const address = snapshot.address(id);
    if (!address) return Promise.reject(new Error(`node ${id.slice(0, 8)} has no address`));
    const options: ConnectOptions = {
      ...(this.probe.username !== undefined ? { username: this.probe.username } : {}),
      ...(this.probe.password !== undefined ? { password: this.probe.password } : {}),
      ...(this.probe.tls ? { tls: this.probe.tls } : {}),
      timeoutMs: 30_000,
      // Repairs move real values (DUMP on BUSYKEY, GETKEYSINSLOT pages): a bigger bound than a probe's.
      maxReplyBytes: REPAIR_MAX_REPLY_BYTES,
    };
    // One connection per node even when many slots ask for it at once; a failed connect is not kept.
    const connecting = connectNode(this.probe.addressMap?.[address] ?? address, options).then((connected) => {
      if (connected.ok) return connected.value;
      this.clients.delete(id);
      throw new Error(`cannot reach ${address}: ${connected.error.message}`);
    });
    this.clients.set(id, connecting);
    return connecting;
  }

  /** Re-reads every node's view until `check` holds, or fails with `what` after the settle deadline. */
  async until(
    what: string,
    check: (snapshot: Snapshot) => boolean | Promise<boolean>,
    ms = this.settleMs,
  ): Promise<Snapshot> {
    const deadline = Date.now() + ms;
    for (;;) {
      const began = Date.now();
      const snapshot = await this.snapshot();
      if (await check(snapshot)) return snapshot;
      if (Date.now() > deadline) throw new Error(`not confirmed within ${Math.round(ms / 1000)} s: ${what}`);
      // As often as a read of every node takes (nodes busy at most half the time), 20 ms to 200 ms apart.
      await sleep(Math.min(200, Math.max(20, Date.now() - began)));
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.then((c) => c.close()).catch(() => {});
    this.clients.clear();
  }
}
