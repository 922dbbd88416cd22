import type { NodeReport, Report } from '../report.js';
import { formatRanges, type SlotRange, slotsIn } from '../slot-ranges.js';
import type { RepairAction, RepairStep } from './types.js';

/** Read-only lookups over one report, shared by every planner. */
export class PlanContext {
  readonly byId: ReadonlyMap<string, NodeReport>;
  private readonly isolated: ReadonlySet<string>;
  private readonly owners: Map<number, string>;
  private readonly claimsBySlot: ReadonlyMap<number, readonly string[]>;
  private readonly keysBySlot = new Map<number, { node: string; keys: number }[]>();

  constructor(readonly report: Report) {
    this.byId = new Map(report.nodes.map((n) => [n.id, n]));
    this.isolated = new Set(
      report.findings.filter((f) => f.code === 'NODE_ISOLATED').flatMap((f) => f.nodes),
    );
    for (const { node, slot, keys } of report.keyCounts) {
      const list = this.keysBySlot.get(slot);
      if (list) list.push({ node, keys });
      else this.keysBySlot.set(slot, [{ node, keys }]);
    }
    this.claimsBySlot = new Map(report.slotClaims.map((c) => [c.slot, c.nodes]));
    this.owners = new Map();
    for (const node of report.nodes) for (const slot of slotsIn(node.slots)) this.owners.set(slot, node.id);
  }

  label(id: string): string {
    const node = this.byId.get(id);
    return `${node?.address ?? 'no address'} (${id.slice(0, 8)})`;
  }

  owner(slot: number): string | null {
    return this.owners.get(slot) ?? null;
  }

  failed(node: NodeReport): boolean {
    return node.flags.includes('fail');
  }

  /** Masters that can take slots or keys now. */
  healthyMasters(): NodeReport[] {
    return this.report.nodes.filter(
      (n) =>
        n.role === 'master' &&
        n.reachable &&
        !this.failed(n) &&
        !this.isolated.has(n.id) &&
        n.address !== null,
    );
  }

  /** Replicas of `master` that answer and are not FAIL, best first (highest replication offset). */
  liveReplicas(master: string): NodeReport[] {
    return this.report.nodes
      .filter((n) => n.replicaOf === master && n.role === 'replica' && n.reachable && !this.failed(n))
      .sort((a, b) => (b.replicationOffset ?? -1) - (a.replicationOffset ?? -1));
  }

  slotCount(id: string): number {
    return (this.byId.get(id)?.slots ?? []).reduce((total, [s, e]) => total + e - s + 1, 0);
  }

  hasFinding(code: string): boolean {
    return this.report.findings.some((f) => f.code === code);
  }

  /** Nodes whose own view says they own `slot` (only for slots that are open, disputed or hold stray keys). */
  claims(slot: number): readonly string[] {
    return this.claimsBySlot.get(slot) ?? [];
  }

  /** Keys each node holds in `slot` (from the report's key counts). */
  holders(slot: number): { node: string; keys: number }[] {
    return this.keysBySlot.get(slot) ?? [];
  }
}

/** Describes one action for people: where it runs, the command (no secrets), why. */
export function describe(ctx: PlanContext, action: RepairAction): Omit<RepairStep, 'index' | 'why'> {
  const at = (id: string) => ctx.label(id);
  const address = (id: string) => (ctx.byId.get(id)?.address ?? '<ip>:<port>').replace(/:(\d+)$/, ' $1');
  const ranges = (list: readonly SlotRange[]) => list.flat().join(' ');
  switch (action.type) {
    case 'add-slots':
      return { action, where: at(action.node), command: `CLUSTER ADDSLOTSRANGE ${ranges(action.ranges)}` };
    case 'failover':
      return { action, where: at(action.node), command: `CLUSTER FAILOVER ${action.mode}` };
    case 'forget':
      return { action, where: 'every node that knows it', command: `CLUSTER FORGET ${action.target}` };
    case 'bump-epoch':
      return { action, where: at(action.node), command: 'CLUSTER BUMPEPOCH' };
    case 'adopt-keys':
      return {
        action,
        where: `${at(action.holder)} → ${at(action.owner)}`,
        command: `CLUSTER SETSLOT ${action.slot} IMPORTING ${action.owner}; ASKING + MIGRATE its keys; CLUSTER SETSLOT ${action.slot} STABLE`,
      };
    case 'settle-slots': {
      const owners = new Set(action.slots.map((s) => s.owner));
      const listed = action.slots
        .slice(0, 5)
        .map((s) => `${s.slot} → ${at(s.owner)}`)
        .join(', ');
      return {
        action,
        where:
          owners.size === 1
            ? `${action.slots.length === 1 ? 'slot' : `${action.slots.length} slots`} to ${at([...owners][0] ?? '')}`
            : `${action.slots.length} slots to ${owners.size} owners`,
        command: `per slot: MIGRATE its keys to the owner (ASKING where the holder imports), then CLUSTER SETSLOT <slot> NODE <owner> on the owner and every other master (SETSLOT STABLE where a node only imports): ${listed}${action.slots.length > 5 ? ', …' : ''}`,
      };
    }
    case 'meet':
      return { action, where: at(action.node), command: `CLUSTER MEET ${address(action.peer)}` };
    case 'replicate':
      return { action, where: at(action.node), command: `CLUSTER REPLICATE ${action.master}` };
  }
}

export const rangesText = (ranges: readonly SlotRange[]): string => formatRanges(ranges, 6);
