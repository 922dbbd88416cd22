import { parseClusterNodes } from '../../src/core/cluster-nodes.js';
import type { ClusterInfo } from '../../src/core/info.js';
import type { KeyCounts } from '../../src/core/key-counts.js';
import type { NodeView } from '../../src/core/probe.js';

/** A node of a made-up cluster, for pure analyzer tests. */
export interface FakeNode {
  readonly id: string;
  readonly port: number;
  readonly role: 'master' | 'slave';
  readonly master?: string;
  readonly slots?: string;
  readonly epoch?: number;
}

export const fakeId = (n: number): string => n.toString(16).padStart(40, '0');

export function nodesText(
  nodes: readonly FakeNode[],
  self: string,
  flagsOf: (n: FakeNode) => string[] = () => [],
): string {
  return nodes
    .map((n) => {
      const flags = [...(n.id === self ? ['myself'] : []), n.role, ...flagsOf(n)].join(',');
      const link = flagsOf(n).includes('fail') ? 'disconnected' : 'connected';
      return `${n.id} 127.0.0.1:${n.port}@${n.port + 10000} ${flags} ${n.master ?? '-'} 0 0 ${n.epoch ?? 1} ${link} ${n.slots ?? ''}`.trim();
    })
    .join('\n');
}

const clusterInfo = (state: 'ok' | 'fail', knownNodes: number): ClusterInfo => ({
  state,
  slotsAssigned: 16384,
  slotsOk: 16384,
  slotsPfail: 0,
  slotsFail: 0,
  knownNodes,
  size: 3,
  currentEpoch: 3,
  myEpoch: 1,
  fields: {},
});

export function fakeView(address: string, text: string, state: 'ok' | 'fail' = 'ok'): NodeView {
  const nodes = parseClusterNodes(text);
  if (!nodes.ok) throw new Error(nodes.error.message);
  return {
    address,
    reachable: true,
    error: null,
    latencyMs: 1,
    notCluster: false,
    nodes: nodes.value,
    clusterInfo: clusterInfo(state, nodes.value.length),
    info: { server: { redis_version: '7.0.15' }, replication: {}, keyspace: {} },
    config: { requireFullCoverage: true, allowReadsWhenDown: false, nodeTimeoutMs: 15000, unavailable: null },
    parseErrors: [],
  };
}

export function deadView(address: string, message = 'connection refused'): NodeView {
  return {
    address,
    reachable: false,
    error: { code: 'refused', message },
    latencyMs: 1,
    notCluster: false,
    nodes: null,
    clusterInfo: null,
    info: null,
    config: {
      requireFullCoverage: null,
      allowReadsWhenDown: null,
      nodeTimeoutMs: null,
      unavailable: 'not read',
    },
    parseErrors: [],
  };
}

export const noCounts = (): KeyCounts => ({
  bySlot: new Map(),
  counted: new Map(),
  dbsize: new Map(),
});
