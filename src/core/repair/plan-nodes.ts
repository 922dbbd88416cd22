import { plural } from '../finding.js';
import { buildOption, short } from './option.js';
import type { PlanContext } from './plan-context.js';
import type { RepairOption } from './types.js';

/** A running node that fell out: CLUSTER MEET from it, then its old role back. */
export function planRejoins(ctx: PlanContext): RepairOption[] {
  const [anchor] = ctx.healthyMasters();
  if (!anchor) return [];
  return ctx.report.findings
    .filter((f) => f.code === 'NODE_ISOLATED')
    .flatMap((f) => f.nodes)
    .flatMap((id) => {
      const node = ctx.byId.get(id);
      if (!node?.reachable || node.slots.length > 0) return [];
      const remembered = node.othersSee?.role === 'replica' ? node.othersSee.replicaOf : null;
      // A reset replica announces itself as an empty master, so the others may have forgotten its role:
      // then it replaces the missing replica of a master that has none.
      const lonely = ctx.report.findings.find((f) => f.code === 'MASTER_NO_REPLICA')?.nodes[0] ?? null;
      const master = remembered ?? ((node.dbsize ?? 1) === 0 ? lonely : null);
      return [
        buildOption(ctx, {
          id: `rejoin-${short(id)}`,
          kind: 'rejoin-node',
          title: `Bring ${ctx.label(id)} back into the cluster${master ? ' as a replica' : ''}`,
          explanation: `${ctx.label(id)} runs but knows only itself (a CLUSTER RESET or a lost nodes.conf). CLUSTER MEET from it to ${ctx.label(anchor.id)} lets gossip teach it the rest of the cluster${master ? `; CLUSTER REPLICATE then makes it a replica of ${ctx.label(master)} again, which resyncs it from scratch` : ''}. It holds no slots, so nothing is lost.`,
          risk: 'safe',
          actions: [
            {
              action: { type: 'meet', node: id, peer: anchor.id },
              why: 'a healthy master to learn the cluster from',
            },
            ...(master
              ? [
                  {
                    action: { type: 'replicate', node: id, master } as const,
                    why: 'the role the other nodes remember',
                  },
                ]
              : []),
          ],
          expected: `${ctx.label(id)} knows every node${master ? ` and replicates ${ctx.label(master)}` : ''}`,
        }),
      ];
    });
}

/** FAIL nodes that serve nothing: forget them on every node that still lists them, inside the 60 s ban. */
export function planForgetFailed(ctx: PlanContext): RepairOption[] {
  const targets = ctx.report.findings.filter((f) => f.code === 'NODE_FORGETTABLE').flatMap((f) => f.nodes);
  if (targets.length === 0) return [];
  const listers = (target: string) => (ctx.byId.get(target)?.listedBy ?? []).map((id) => ctx.label(id));
  return [
    buildOption(ctx, {
      id: 'forget-failed',
      kind: 'forget-failed',
      title: `Forget ${plural(targets.length, 'dead node')} that serve nothing`,
      explanation: `${targets.map((t) => ctx.label(t)).join(', ')} ${targets.length === 1 ? 'is' : 'are'} FAIL, own no slot and have no live replica; ${targets.map((t) => `${ctx.label(t)} is still listed by ${listers(t).join(', ') || 'no reachable node'}`).join('; ')}. CLUSTER FORGET is sent to exactly those nodes at once, inside the 60 s ban, so gossip cannot bring them back. If one of those hosts is reused later, run CLUSTER RESET HARD on it before it rejoins (Slotwatch never does that).`,
      risk: 'safe',
      actions: targets.map((target) => ({
        action: { type: 'forget', target } as const,
        why: `FAIL, no slots, no live replica; still listed by ${listers(target).join(', ')}`,
      })),
      expected: 'the dead nodes are gone from every CLUSTER NODES',
    }),
  ];
}

/** A slot-owning master without replica and an empty master available: make it the replica. */
export function planAttachReplicas(ctx: PlanContext): RepairOption[] {
  const lonely = ctx.report.findings.filter((f) => f.code === 'MASTER_NO_REPLICA').flatMap((f) => f.nodes);
  const spare = ctx.healthyMasters().filter((n) => n.slots.length === 0 && (n.dbsize ?? 1) === 0);
  return lonely.flatMap((master, i) => {
    const empty = spare[i];
    if (!empty) return [];
    return [
      buildOption(ctx, {
        id: `attach-replica-${short(master)}`,
        kind: 'attach-replica',
        title: `Make empty master ${ctx.label(empty.id)} a replica of ${ctx.label(master)}`,
        explanation: `${ctx.label(master)} owns slots and has no working replica: one more failure and its slots are lost. ${ctx.label(empty.id)} is a master with no slots and no keys; CLUSTER REPLICATE turns it into a replica that syncs from ${ctx.label(master)}.`,
        risk: 'safe',
        actions: [
          { action: { type: 'replicate', node: empty.id, master }, why: 'an empty master is a free replica' },
        ],
        expected: `${ctx.label(master)} has a replica`,
      }),
    ];
  });
}
