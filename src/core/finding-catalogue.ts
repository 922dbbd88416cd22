import type { FindingCode } from './report.js';

/** The runbook line (seed runbook) each finding comes from. */
export const RUNBOOK_LINES: Readonly<Record<FindingCode, string>> = {
  CLUSTER_DOWN:
    'When a node detects that at least one hash slot is uncovered (no node is assigned to serve it), the entire cluster enters CLUSTERDOWN mode and rejects all client requests.',
  SLOTS_UNASSIGNED: 'The cluster slots output should show all 16384 slots assigned.',
  SLOTS_OWNER_FAILED: 'A hash slot can become unserved when a master node fails and no replica takes over.',
  SLOTS_OPEN: 'If a resharding operation was interrupted, slots might be stuck.',
  KEYS_ORPHANED: 'Or on the target node during migration: redis-cli CLUSTER SETSLOT 5000 STABLE.',
  QUORUM_LOST: 'If more than one master crashed and no replicas exist, you may need to rebuild.',
  NODE_FAILED: 'Look for nodes marked as "fail" or "disconnected".',
  NODE_UNREACHABLE: 'Look for nodes marked as "fail" or "disconnected".',
  NODE_HANDSHAKE: 'When nodes fail to properly join the cluster during initialization.',
  NODE_ISOLATED:
    'If a node is disconnected but still running, force it back into the cluster: CLUSTER MEET {master-ip} {master-port}.',
  NODE_FORGETTABLE:
    "Use your orchestration platform's health checks to automatically remove failed nodes and promote replicas.",
  VIEWS_DISAGREE: 'Correct inconsistent slot assignments.',
  MASTER_NO_REPLICA: 'Always deploy Redis Cluster with adequate replication (at least 1 replica per master).',
  FULL_COVERAGE_DISABLED:
    'cluster-require-full-coverage no masks the underlying problem and risks data inconsistency; only use it as a temporary workaround.',
  NOT_CLUSTER:
    "If you're not actually running Redis in cluster mode and this error appeared unexpectedly, disable clustering (cluster-enabled no).",
  SLOTS_UNROUTABLE: 'If slots are stuck, use redis-cli to stabilize them:',
  REPLY_UNPARSEABLE: 'If slots are missing or nodes report "unknown" slots, that\'s your problem.',
  LIMIT_EXCEEDED: 'Monitor cluster state regularly with CLUSTER INFO and alert on slot coverage gaps.',
};
