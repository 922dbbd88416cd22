import { type AnalysisContext, finding, plural } from './finding.js';
import { nodeLabel } from './node-label.js';
import type { Finding } from './report.js';
import { formatRanges, rangesFromSlots } from './slot-ranges.js';
import type { TopologyNode } from './topology.js';

const ownedSlots = (ctx: AnalysisContext, id: string): readonly number[] =>
  ctx.topology.ownedSlots.get(id) ?? [];

const slotOwners = (ctx: AnalysisContext): TopologyNode[] =>
  [...ctx.topology.nodes.values()].filter((n) => n.role === 'master' && ctx.topology.ownedSlots.has(n.id));

const replicasOf = (ctx: AnalysisContext, id: string): readonly TopologyNode[] =>
  (ctx.topology.replicasOf.get(id) ?? []).filter((n) => n.role === 'replica');

export function quorumLost(ctx: AnalysisContext): Finding[] {
  const owners = slotOwners(ctx);
  const alive = owners.filter((n) => !n.failed && n.view?.reachable);
  const needed = Math.floor(owners.length / 2) + 1;
  if (owners.length === 0 || alive.length >= needed) return [];
  const down = owners.filter((n) => !alive.includes(n));
  return [
    finding(
      'QUORUM_LOST',
      'error',
      `Only ${alive.length} of ${owners.length} slot-owning masters are alive; ${needed} are needed to agree on FAIL or elect a replica, so the cluster cannot heal itself.`,
      {
        nodes: down.map((n) => n.id),
        next: 'Bring the dead masters back first (restart them from RDB/AOF); failover needs CLUSTER FAILOVER TAKEOVER while the majority is gone.',
        details: down.map((n) => `down: ${nodeLabel(ctx.topology, n.id)}`),
      },
    ),
  ];
}

export function nodeFailed(ctx: AnalysisContext): Finding[] {
  return [...ctx.topology.nodes.values()]
    .filter((n) => n.failed)
    .map((n) => {
      const slots = rangesFromSlots(ownedSlots(ctx, n.id));
      return finding(
        'NODE_FAILED',
        slots.length > 0 ? 'error' : 'warning',
        `${nodeLabel(ctx.topology, n.id)} (${n.role}) is FAIL by agreement of the cluster${slots.length > 0 ? ` and still owns slots ${formatRanges(slots, 8)}` : ''}.`,
        {
          nodes: [n.id],
          slots,
          next: n.view?.reachable
            ? 'It answers again; it rejoins by itself once gossip clears the flag, or after CLUSTER MEET.'
            : 'Check the host and the redis-server process; restart it with its nodes.conf and data intact.',
        },
      );
    });
}

export function nodeUnreachable(ctx: AnalysisContext): Finding[] {
  return [...ctx.topology.nodes.values()]
    .filter((n) => !n.view?.reachable && n.address !== null && n.view?.error?.code !== 'limit')
    .map((n) => {
      const slots = rangesFromSlots(ownedSlots(ctx, n.id));
      const why = n.view?.error?.message ?? 'not probed';
      return finding(
        'NODE_UNREACHABLE',
        slots.length > 0 && !n.failed ? 'error' : 'warning',
        `${nodeLabel(ctx.topology, n.id)} (${n.role}) did not answer: ${why}${n.failed ? '' : n.suspected ? '; some nodes suspect it (PFAIL)' : '; the cluster still sees it as up'}.`,
        {
          nodes: [n.id],
          slots,
          next:
            n.view?.error?.code === 'timeout'
              ? 'It accepts connections but does not answer: look for a stopped (SIGSTOP), swapping or blocked process (SLOWLOG, a long KEYS or Lua script).'
              : 'Check that redis-server runs on that host and port and that this network can reach it.',
        },
      );
    });
}

export function nodeHandshake(ctx: AnalysisContext): Finding[] {
  const stuck = [...ctx.topology.nodes.values()].filter((n) => n.handshake);
  if (stuck.length === 0) return [];
  return [
    finding(
      'NODE_HANDSHAKE',
      'warning',
      `${plural(stuck.length, 'node')} are stuck in handshake: ${stuck.map((n) => n.address ?? n.id.slice(0, 8)).join(', ')}.`,
      {
        nodes: stuck.map((n) => n.id),
        next: 'A handshake that lasts longer than the node timeout means the bus port (port + 10000 or cluster-port) is blocked or the node announces the wrong address.',
      },
    ),
  ];
}

export function nodeIsolated(ctx: AnalysisContext): Finding[] {
  const unknownToCluster = [...ctx.topology.nodes.values()].filter(
    (n) =>
      n.view?.reachable &&
      n.listedBy <= 1 &&
      ctx.topology.voters.length > 1 &&
      !ctx.topology.loners.includes(n.view),
  );
  const isolated = [
    ...ctx.topology.loners.map((v) => ctx.topology.nodes.get(v.nodes?.find((e) => e.myself)?.id ?? '')),
    ...unknownToCluster,
  ].filter((n): n is TopologyNode => n !== undefined);
  const anchor = [...ctx.topology.nodes.values()].find(
    (n) => n.role === 'master' && n.view?.reachable && !isolated.includes(n),
  );
  return isolated.map((n) => {
    const known = n.view?.nodes?.length ?? 0;
    const othersSee = n.seenBy[0];
    const wasReplica = othersSee?.role === 'replica' && othersSee.masterId;
    return finding(
      'NODE_ISOLATED',
      ownedSlots(ctx, n.id).length > 0 ? 'error' : 'warning',
      `${nodeLabel(ctx.topology, n.id)} runs but is alone: its own view knows ${plural(known, 'node')}${othersSee ? `, while the others still list it as ${othersSee.role}` : ' and no other node lists it'}.`,
      {
        nodes: [n.id],
        next: `From it: CLUSTER MEET ${anchor?.address?.replace(':', ' ') ?? '<ip> <port>'}${wasReplica ? `, then CLUSTER REPLICATE ${othersSee.masterId}` : ''}.`,
      },
    );
  });
}

/** A failed replica of a failed slot owner may hold the only copy of those slots: never forgettable. */
function mayHoldLostData(ctx: AnalysisContext, node: TopologyNode): boolean {
  const master = node.masterId ? ctx.topology.nodes.get(node.masterId) : undefined;
  return (
    node.role === 'replica' && master !== undefined && master.failed && ownedSlots(ctx, master.id).length > 0
  );
}

export function nodeForgettable(ctx: AnalysisContext): Finding[] {
  const forgettable = [...ctx.topology.nodes.values()].filter(
    (n) =>
      (n.failed || n.flags.includes('noaddr')) &&
      !n.view?.reachable &&
      ownedSlots(ctx, n.id).length === 0 &&
      replicasOf(ctx, n.id).every((r) => r.failed) &&
      !mayHoldLostData(ctx, n),
  );
  const viewers = ctx.topology.voters.length;
  return forgettable.map((n) => {
    const listers = n.listers.map((id) => nodeLabel(ctx.topology, id));
    const all = n.listers.length === viewers;
    return finding(
      'NODE_FORGETTABLE',
      'warning',
      `${nodeLabel(ctx.topology, n.id)} is FAIL and serves nothing; still listed by ${n.listers.length} of ${plural(viewers, 'node')}: ${listers.join(', ')}.`,
      {
        nodes: [n.id],
        next: `CLUSTER FORGET ${n.id} on ${all ? 'every node' : listers.join(', ')} within 60 s (the ban); if that host is reused, CLUSTER RESET HARD it before it rejoins.`,
        details: listers.map((l) => `still listed by ${l}`),
      },
    );
  });
}

export function masterNoReplica(ctx: AnalysisContext): Finding[] {
  return slotOwners(ctx)
    .filter((n) => !n.failed && replicasOf(ctx, n.id).every((r) => r.failed))
    .map((n) =>
      finding(
        'MASTER_NO_REPLICA',
        'warning',
        `${nodeLabel(ctx.topology, n.id)} owns ${plural(ownedSlots(ctx, n.id).length, 'slot')} and has no working replica: one more failure and those slots are lost.`,
        {
          nodes: [n.id],
          next: 'Attach a replica: CLUSTER REPLICATE <this node id> on an empty master, or add a node.',
        },
      ),
    );
}
