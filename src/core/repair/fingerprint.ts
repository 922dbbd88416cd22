import { createHash } from 'node:crypto';
import type { Report } from '../report.js';

/**
 * What a plan depends on: slot owners, node ids and roles, FAIL flags, open slots and config epochs.
 * Never PFAIL, reachability, ping times or offsets: those flicker without the plan going stale.
 */
export function fingerprintOf(report: Pick<Report, 'nodes' | 'openSlots' | 'slots'>): string {
  const nodes = report.nodes
    .map((n) => {
      const slots = n.slots.map(([s, e]) => `${s}-${e}`).join(',');
      return `${n.id}|${n.role}|${n.replicaOf ?? '-'}|${n.flags.includes('fail') ? 'FAIL' : ''}|${n.configEpoch}|${slots}`;
    })
    .sort();
  const open = report.openSlots.map((o) => `${o.slot}|${o.state}|${o.node}|${o.peer}`).sort();
  const unassigned = report.slots.gaps
    .filter((g) => g.reason === 'unassigned')
    .map((g) => `${g.start}-${g.end}`);
  return createHash('sha256').update(JSON.stringify({ nodes, open, unassigned })).digest('hex').slice(0, 16);
}
