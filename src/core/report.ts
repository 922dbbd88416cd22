import { z } from 'zod';

export const FINDING_CODES = [
  'CLUSTER_DOWN',
  'SLOTS_UNASSIGNED',
  'SLOTS_OWNER_FAILED',
  'SLOTS_OPEN',
  'KEYS_ORPHANED',
  'QUORUM_LOST',
  'NODE_FAILED',
  'NODE_UNREACHABLE',
  'NODE_HANDSHAKE',
  'NODE_ISOLATED',
  'NODE_FORGETTABLE',
  'VIEWS_DISAGREE',
  'MASTER_NO_REPLICA',
  'FULL_COVERAGE_DISABLED',
  'NOT_CLUSTER',
  'SLOTS_UNROUTABLE',
  'REPLY_UNPARSEABLE',
  'LIMIT_EXCEEDED',
] as const;

export const FindingCode = z.enum(FINDING_CODES);
export type FindingCode = z.infer<typeof FindingCode>;

export const Severity = z.enum(['error', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

export const SlotRangeTuple = z.tuple([z.number().int(), z.number().int()]);

export const GapReason = z.enum(['unassigned', 'owner-failed', 'owner-unreachable']);
export type GapReason = z.infer<typeof GapReason>;

export const Gap = z.object({
  start: z.number().int(),
  end: z.number().int(),
  reason: GapReason,
  /** Node id of the (failed or unreachable) owner; null when unassigned. */
  owner: z.string().nullable(),
  /** Keys last seen in the range on a reachable node; null when no reachable node could tell. */
  keys: z.number().int().nullable(),
});
export type Gap = z.infer<typeof Gap>;

export const OpenSlot = z.object({
  slot: z.number().int(),
  state: z.enum(['migrating', 'importing']),
  node: z.string(),
  peer: z.string(),
  nodeRole: z.enum(['master', 'replica', 'unknown']),
  /** Keys of the slot on `node` and `peer` (null when unreachable). */
  nodeKeys: z.number().int().nullable(),
  peerKeys: z.number().int().nullable(),
  /** Key counts changed between two reads: a resharding in progress. */
  live: z.boolean(),
});
export type OpenSlot = z.infer<typeof OpenSlot>;

export const NodeReport = z.object({
  id: z.string(),
  address: z.string().nullable(),
  role: z.enum(['master', 'replica', 'unknown']),
  flags: z.array(z.string()),
  reachable: z.boolean(),
  error: z.string().nullable(),
  slots: z.array(SlotRangeTuple),
  replicaOf: z.string().nullable(),
  /** How most other nodes list it (differs from `role`/`replicaOf` for a node that fell out). */
  othersSee: z
    .object({ role: z.enum(['master', 'replica', 'unknown']), replicaOf: z.string().nullable() })
    .nullable(),
  configEpoch: z.number().int(),
  linkState: z.enum(['connected', 'disconnected']).nullable(),
  clusterState: z.enum(['ok', 'fail']).nullable(),
  knownNodes: z.number().int().nullable(),
  version: z.string().nullable(),
  replicationOffset: z.number().int().nullable(),
  /**
   * For a failed or unreachable master with live replicas: the highest replication offset any of them last
   * heard it announce on the cluster bus (CLUSTER SHARDS, Redis 7+); absent when not read or not told.
   */
  lastKnownOffset: z.number().int().optional(),
  replicaLinkUp: z.boolean().nullable(),
  /** A replica that finished a sync from its master at least once; null for masters and unread nodes. */
  replicaSynced: z.boolean().nullable(),
  /** How long a replica's link was down while its master still answered (0: up until the master failed). */
  replicaLinkDownSeconds: z.number().int().nullable(),
  /** Synced and not disconnected beyond Redis's replica validity: its keys stand for its master's. */
  replicaUpToDate: z.boolean().nullable(),
  /** Ids of the reachable nodes whose own view lists it. */
  listedBy: z.array(z.string()),
  dbsize: z.number().int().nullable(),
  latencyMs: z.number().nullable(),
});
export type NodeReport = z.infer<typeof NodeReport>;

export const Finding = z.object({
  code: FindingCode,
  severity: Severity,
  summary: z.string(),
  /** Node ids (or dialed addresses for nodes without an id) the finding is about. */
  nodes: z.array(z.string()),
  slots: z.array(SlotRangeTuple),
  /** The next step for the person on call. */
  next: z.string(),
  /** The runbook line this comes from. */
  runbook: z.string(),
  details: z.array(z.string()),
});
export type Finding = z.infer<typeof Finding>;

export const ConfigReport = z.object({
  address: z.string(),
  requireFullCoverage: z.boolean().nullable(),
  allowReadsWhenDown: z.boolean().nullable(),
  nodeTimeoutMs: z.number().nullable(),
  unavailable: z.string().nullable(),
});

export const SlotClaim = z.object({ slot: z.number().int(), nodes: z.array(z.string()) });
export type SlotClaim = z.infer<typeof SlotClaim>;

export const SlotKeyCount = z.object({ node: z.string(), slot: z.number().int(), keys: z.number().int() });
export type SlotKeyCount = z.infer<typeof SlotKeyCount>;

export const Report = z.object({
  state: z.enum(['ok', 'fail']),
  probedAt: z.string(),
  durationMs: z.number(),
  seeds: z.array(z.string()),
  slots: z.object({
    covered: z.number().int(),
    uncovered: z.number().int(),
    gaps: z.array(Gap),
  }),
  openSlots: z.array(OpenSlot),
  /** Slots whose owners, open states or migrating keys changed between two looks: moving, not stuck. */
  movingSlots: z.array(SlotRangeTuple),
  /** For slots that are open, owned differently by some view, or hold keys off their owner: who claims them in its own view. */
  slotClaims: z.array(SlotClaim),
  nodes: z.array(NodeReport),
  findings: z.array(Finding),
  config: z.array(ConfigReport),
  /** Non-zero key counts per node for the slots that matter to a repair (gaps, open and orphaned slots). */
  keyCounts: z.array(SlotKeyCount),
  /** Slots whose keys were counted on every reachable node that could hold them. */
  countedSlots: z.array(SlotRangeTuple),
  currentEpoch: z.number().int().nullable(),
});
export type Report = z.infer<typeof Report>;
