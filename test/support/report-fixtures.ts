import type { NodeReport, Report } from '../../src/core/report.js';

/** A healthy, empty report of the contract's shape; tests override what they are about. */
export const emptyReport = (over: Partial<Report> = {}): Report => ({
  state: 'ok',
  probedAt: '2026-11-25T00:00:00.000Z',
  durationMs: 5,
  seeds: ['10.0.0.1:6379'],
  slots: { covered: 16384, uncovered: 0, gaps: [] },
  openSlots: [],
  movingSlots: [],
  slotClaims: [],
  nodes: [],
  findings: [],
  config: [],
  keyCounts: [],
  countedSlots: [],
  currentEpoch: 3,
  ...over,
});

/** A reachable master that owns nothing and reports cluster_state:fail, unless overridden. */
export const masterReport = (over: Partial<NodeReport> & { id: string }): NodeReport => ({
  address: null,
  role: 'master',
  flags: ['master'],
  reachable: true,
  error: null,
  slots: [],
  replicaOf: null,
  othersSee: null,
  configEpoch: 1,
  linkState: 'connected',
  clusterState: 'fail',
  knownNodes: 3,
  version: '7.0.15',
  replicationOffset: null,
  replicaLinkUp: null,
  replicaSynced: null,
  replicaLinkDownSeconds: null,
  replicaUpToDate: null,
  listedBy: [],
  dbsize: 0,
  latencyMs: 1,
  ...over,
});
