import type { FindingCode } from './report.js';

/** A runbook entry for one Redis error message. Data: the CLI and Slack render it. */
export interface KnowledgeEntry {
  readonly id: string;
  readonly title: string;
  /** Matched against the normalised error text (lower case, single spaces, no `(error)` prefix). */
  readonly patterns: readonly RegExp[];
  readonly cause: string;
  readonly check: readonly string[];
  readonly fix: readonly string[];
  /** What Slotwatch does about it. */
  readonly slotwatch?: string;
}

export const KNOWLEDGE_BASE: readonly KnowledgeEntry[] = [
  {
    id: 'clusterdown-hash-slot-not-served',
    title: 'CLUSTERDOWN Hash slot not served',
    patterns: [/clusterdown hash slot not served/, /hash slot not served/],
    cause:
      'The key hashes to a slot that no live master serves, and cluster-require-full-coverage is "no", so only that part of the keyspace is down. The slot was never assigned, was deleted, or its master failed without a replica to take over.',
    check: [
      'CLUSTER SLOTS (or CLUSTER NODES) on any node: which ranges are missing.',
      'CONFIG GET cluster-require-full-coverage: "no" is why the rest still works.',
      'Which master last owned the slot, and whether it or a replica is alive.',
    ],
    fix: [
      'If the owner died and has a replica: CLUSTER FAILOVER FORCE on the replica.',
      'If the owner can be restarted with its RDB/AOF, restart it first: no data is lost.',
      'Otherwise assign the slots (CLUSTER ADDSLOTSRANGE), giving slots that still hold keys to the node holding them.',
    ],
    slotwatch:
      '`slotwatch check` shows the gap, its keys and owner; `slotwatch plan` offers the covering repairs.',
  },
  {
    id: 'clusterdown-read-only',
    title: 'CLUSTERDOWN The cluster is down and only accepts read commands',
    patterns: [/cluster is down and only accepts read commands/, /only accepts read commands/],
    cause:
      'The cluster is in the fail state and cluster-allow-reads-when-down is "yes": reads of slots that still have an owner are served, every write is refused.',
    check: [
      'CLUSTER INFO: cluster_state:fail, and cluster_slots_fail / cluster_slots_pfail.',
      'CLUSTER NODES: masters flagged fail, slots with no owner.',
    ],
    fix: [
      'Restore coverage exactly as for "CLUSTERDOWN The cluster is down": fail over, restart the dead master, or assign the missing slots.',
      'Writes come back by themselves once cluster_state is ok.',
    ],
    slotwatch: '`slotwatch check` says which slots and nodes hold the cluster down.',
  },
  {
    id: 'clusterdown',
    title: 'CLUSTERDOWN The cluster is down',
    patterns: [/clusterdown the cluster is down/, /\bclusterdown\b/, /cluster is down/],
    cause:
      'At least one of the 16384 hash slots has no live owner (a master failed and no replica took over, slots were never assigned or were deleted, a resharding was interrupted, a node fell out of the cluster), or fewer than half of the slot-owning masters are reachable. With cluster-require-full-coverage yes (the default) every node then refuses every command.',
    check: [
      'CLUSTER INFO: cluster_state, cluster_slots_assigned / ok / pfail / fail.',
      'CLUSTER NODES: masters flagged fail or disconnected, slots missing from every line.',
      'CLUSTER NODES | grep -E "migrating|importing" for stuck resharding ([slot->-id] / [slot-<-id]).',
      'On each node: is redis-server running, and does the node know the others (a reset or restarted node may be alone)?',
    ],
    fix: [
      'Master failed with a healthy replica: CLUSTER FAILOVER FORCE on the replica (TAKEOVER only if the majority is gone).',
      'Master failed without replica: restart it from its RDB/AOF; only if it cannot come back, assign its slots elsewhere (its data is lost).',
      'Node running but alone: CLUSTER MEET <ip> <port> from it, then CLUSTER REPLICATE if it was a replica.',
      'Interrupted resharding: finish the migration (MIGRATE the remaining keys, then SETSLOT NODE on both ends); SETSLOT STABLE on the target leaves keys behind.',
      'Unassigned slots: ADDSLOTSRANGE, slots with keys to the node that holds them.',
      'Never FLUSHALL or re-create the cluster while any node still holds data you need.',
      'Clients: retry CLUSTERDOWN with exponential backoff; client libraries only retry MOVED/ASK.',
    ],
    slotwatch:
      '`slotwatch check` names every gap, its owner and its keys; `slotwatch plan` offers the repairs that fit.',
  },
  {
    id: 'moved',
    title: 'MOVED <slot> <host:port>',
    patterns: [/^moved \d+ \S+/, /\bmoved \d+ [\w.:[\]-]+:\d+/],
    cause:
      "The node you asked does not own the key's slot; the reply names the node that does. Normal in a cluster: the client talks to the wrong node or its slot map is stale.",
    check: [
      'Does the client run in cluster mode (redis-cli -c, a cluster client)?',
      'Does the address in the reply resolve and answer from the client (NAT, Kubernetes: cluster-announce-ip)?',
      'Repeated MOVED between two nodes for one slot: the nodes disagree about the owner (CLUSTER NODES on both).',
    ],
    fix: [
      'Use a cluster-aware client; it refreshes its slot map on MOVED.',
      'If the announced address is unreachable from clients, set cluster-announce-ip/port correctly.',
      'A MOVED loop means a split view: settle the slot with CLUSTER SETSLOT <slot> NODE <id> on every master.',
    ],
  },
  {
    id: 'ask',
    title: 'ASK <slot> <host:port>',
    patterns: [/^ask \d+ \S+/, /\bask \d+ [\w.:[\]-]+:\d+/],
    cause:
      'The slot is being migrated (MIGRATING on the source, IMPORTING on the target) and this key is not on the source any more: ask the target once, preceded by ASKING.',
    check: [
      'CLUSTER NODES | grep -E "\\[[0-9]+-[<>]-": which slots are open and between which nodes.',
      'Whether the migration is still moving keys (CLUSTER COUNTKEYSINSLOT on both ends, twice) or stuck.',
    ],
    fix: [
      'Live resharding: nothing to do, cluster clients follow ASK.',
      'Stuck migration: move the remaining keys (MIGRATE), then CLUSTER SETSLOT <slot> NODE <target-id> on the target, the source and every other master.',
    ],
    slotwatch: '`slotwatch check` tells a live resharding from a stuck one (SLOTS_OPEN).',
  },
  {
    id: 'tryagain',
    title: 'TRYAGAIN Multiple keys request during rehashing of slot',
    patterns: [/\btryagain\b/, /during rehashing of slot/],
    cause:
      'A multi-key command touched a slot that is being migrated while its keys are split between source and target.',
    check: ['Open slots: CLUSTER NODES shows [slot->-id] / [slot-<-id].', 'Is the resharding still running?'],
    fix: [
      'Retry after a short backoff; the error ends when the slot finishes migrating.',
      'If the migration is stuck, finish it (MIGRATE the remaining keys, then SETSLOT NODE on both ends).',
    ],
  },
  {
    id: 'crossslot',
    title: "CROSSSLOT Keys in request don't hash to the same slot",
    patterns: [/\bcrossslot\b/, /don't hash to the same slot/],
    cause:
      'A multi-key command (MGET, MSET, SUNION, a transaction or a Lua script) names keys in different hash slots.',
    check: ['CLUSTER KEYSLOT <key> for each key of the command.'],
    fix: [
      'Put keys that are used together under one hash tag: {user:42}:profile and {user:42}:cart share a slot.',
      'Or split the command per slot (cluster clients do this for MGET/MSET with pipelines).',
    ],
  },
  {
    id: 'fsync-error',
    title: 'ERR fsync error',
    patterns: [/fsync error/],
    cause:
      'Redis could not fsync the AOF (or RDB) to disk: the disk is full, read-only, failing, or the filesystem does not support fsync. Redis refuses writes to protect durability.',
    check: [
      'df -h and df -i on the data directory (CONFIG GET dir).',
      'dmesg / journalctl -k for I/O errors; mount options (ro after errors).',
      'INFO persistence: aof_last_write_status, aof_last_bgrewrite_status, rdb_last_bgsave_status.',
    ],
    fix: [
      'Free space or move dir to a healthy volume, then BGREWRITEAOF.',
      'Replace a failing disk; fail over to a replica in a cluster meanwhile.',
      'Writes resume once a write/fsync succeeds again.',
    ],
  },
  {
    id: 'unbalanced-xread',
    title: 'ERR Unbalanced XREAD list of streams',
    patterns: [/unbalanced (xread|xreadgroup) list of streams/, /unbalanced xread/],
    cause:
      'XREAD / XREADGROUP got a different number of stream keys and IDs after STREAMS: every key needs exactly one ID.',
    check: ['The command line: STREAMS key1 key2 … id1 id2 … must have as many ids as keys.'],
    fix: [
      'Give one ID per stream ($ for new entries, > for a consumer group, 0 for everything).',
      'In a cluster the streams of one XREAD must also share a hash slot, or you get CROSSSLOT.',
    ],
  },
  {
    id: 'syntax-error',
    title: 'ERR syntax error',
    patterns: [/err syntax error/, /^syntax error/],
    cause:
      'The command got arguments in the wrong order, an unknown option, or a wrong number of arguments for an option.',
    check: [
      'COMMAND DOCS <command> for the exact syntax of this server version.',
      'Options newer than the server (SET … GET needs 6.2, ADDSLOTSRANGE needs 7.0): INFO server redis_version.',
    ],
    fix: ['Fix the argument order or option names; quote values that contain spaces.'],
  },
  {
    id: 'redis-service-timeout',
    title: 'Job for redis-server.service failed because a timeout was exceeded',
    patterns: [
      /redis-server\.service failed because a timeout was exceeded/,
      /redis-server\.service.*timeout/,
    ],
    cause:
      'systemd gave up waiting for redis-server to report ready: usually "supervised systemd" is missing while the unit is Type=notify, daemonize yes under Type=notify, or a large RDB/AOF still loading when TimeoutStartSec ran out.',
    check: [
      'journalctl -u redis-server -n 100 and the Redis log file.',
      'redis.conf: supervised systemd, daemonize no; the unit: Type=notify, TimeoutStartSec.',
      'Data size: how long does loading the RDB/AOF take?',
    ],
    fix: [
      'Set supervised systemd and daemonize no (with Type=notify), or match the unit type to the config.',
      'Raise TimeoutStartSec for large datasets.',
      'In a cluster, a node that does not come back leaves its slots to its replica or uncovered: check the cluster.',
    ],
  },
];

type FindingEntry = Omit<KnowledgeEntry, 'id' | 'patterns'>;
const plan = '`slotwatch plan` (or `/redis fix`) lists the repairs that fit.';

/** What each finding code means and what to do about it (`explain SLOTS_OWNER_FAILED`). */
const FINDINGS: Readonly<Record<FindingCode, FindingEntry>> = {
  CLUSTER_DOWN: {
    title: 'CLUSTER_DOWN: nodes report cluster_state:fail',
    cause:
      'A node saw a slot without a live owner (or lost the majority) and now refuses every command with CLUSTERDOWN while cluster-require-full-coverage is yes.',
    check: ['CLUSTER INFO on every node: cluster_state, cluster_slots_ok / pfail / fail.'],
    fix: [
      'Fix the cause the other findings name (a dead owner, unassigned slots, lost quorum); the state returns to ok by itself.',
    ],
    slotwatch: plan,
  },
  SLOTS_UNASSIGNED: {
    title: 'SLOTS_UNASSIGNED: slots nobody owns',
    cause:
      'The slots were never assigned or were deleted (CLUSTER DELSLOTS, a reset); keys may still sit on a node.',
    check: ['CLUSTER COUNTKEYSINSLOT on each master for the missing slots: who still holds keys.'],
    fix: [
      'Give slots with keys back to the node that holds them, the rest in balanced ranges (CLUSTER ADDSLOTSRANGE).',
    ],
    slotwatch: plan,
  },
  SLOTS_OWNER_FAILED: {
    title: 'SLOTS_OWNER_FAILED: slots of a master the cluster agreed is FAIL',
    cause:
      'The owning master is down and no replica took over (none exists, none is alive, or none may be elected).',
    check: ['Is the host up, can redis-server start, are its RDB/AOF and nodes.conf intact?'],
    fix: [
      'Restart the master from its RDB/AOF if at all possible: nothing is lost.',
      'Else fail over to a replica (CLUSTER FAILOVER FORCE), or as a last resort re-assign the slots: their keys are lost.',
    ],
    slotwatch: plan,
  },
  SLOTS_OPEN: {
    title: 'SLOTS_OPEN: a slot stuck migrating or importing',
    cause:
      'A resharding stopped half way (redis-cli died, a node restarted); info only while keys still move.',
    check: ['CLUSTER NODES | grep -E "->-|-<-" and COUNTKEYSINSLOT on both ends.'],
    fix: [
      'Finish the migration (MIGRATE the rest, then SETSLOT NODE everywhere); never SETSLOT STABLE on a node that holds keys.',
    ],
    slotwatch: plan,
  },
  KEYS_ORPHANED: {
    title: 'KEYS_ORPHANED: keys on a master that does not own their slot',
    cause:
      'Usually SETSLOT STABLE on a migration target: `redis-cli --cluster check` says OK while GET answers nil.',
    check: ['CLUSTER COUNTKEYSINSLOT on the holder for a slot it does not own.'],
    fix: ['Move the keys to the owner (SETSLOT IMPORTING on the holder, then MIGRATE); never delete them.'],
    slotwatch: plan,
  },
  QUORUM_LOST: {
    title: 'QUORUM_LOST: fewer than half + 1 of the slot-owning masters are alive',
    cause:
      'Without a majority no master can be agreed FAIL and no replica can be elected: the cluster cannot heal itself.',
    check: ['Which masters are down (the finding lists them), and whether their hosts and data are intact.'],
    fix: [
      'Restart the dead masters from their RDB/AOF: the majority comes back and the cluster heals.',
      'Only if they cannot come back: CLUSTER FAILOVER TAKEOVER on a live replica, then re-assign what is left.',
    ],
    slotwatch:
      'Slotwatch offers no automatic repair while the majority is gone: it says which nodes to restart.',
  },
  NODE_FAILED: {
    title: 'NODE_FAILED: a node the cluster agreed is FAIL',
    cause: 'A majority of masters could not reach it within cluster-node-timeout.',
    check: ['The host and the redis-server process; its log for the reason it stopped.'],
    fix: [
      'Restart it with its nodes.conf and data intact; it rejoins by itself.',
      'A node that is gone for good: CLUSTER FORGET it on every node.',
    ],
    slotwatch: plan,
  },
  NODE_UNREACHABLE: {
    title: 'NODE_UNREACHABLE: Slotwatch could not read a node',
    cause: 'Refused, timed out or refused authentication, with the reason in the finding.',
    check: ['redis-cli -h HOST -p PORT PING from where Slotwatch runs; firewall, address map, password.'],
    fix: [
      'A stopped process: restart it. A timeout: look for SIGSTOP, swapping, or a long KEYS or Lua script.',
    ],
  },
  NODE_HANDSHAKE: {
    title: 'NODE_HANDSHAKE: a node stuck in handshake',
    cause:
      'CLUSTER MEET reached an address the node cannot complete the handshake with (wrong announced address, bus port blocked).',
    check: ['cluster-announce-ip / cluster-announce-bus-port, and that the bus port (port + 10000) is open.'],
    fix: ['Fix the address or the firewall; CLUSTER FORGET the handshake entry if it never completes.'],
  },
  NODE_ISOLATED: {
    title: 'NODE_ISOLATED: a running node alone in its own view',
    cause: 'CLUSTER RESET, a lost nodes.conf or a network partition left it outside the cluster.',
    check: ['CLUSTER NODES on it: does it list only itself?'],
    fix: ['CLUSTER MEET from it to a member, then CLUSTER REPLICATE back to its master if it was a replica.'],
    slotwatch: plan,
  },
  NODE_FORGETTABLE: {
    title: 'NODE_FORGETTABLE: a FAIL node that serves nothing',
    cause: 'A dead node with no slots and no replicas is still listed by some nodes.',
    check: ['Which nodes still list it (the finding says).'],
    fix: ['CLUSTER FORGET it on every node within 60 s; reuse its host only after CLUSTER RESET HARD.'],
    slotwatch: plan,
  },
  VIEWS_DISAGREE: {
    title: 'VIEWS_DISAGREE: nodes see owners, roles or members differently',
    cause:
      'A difference that persisted beyond gossip: epochs collided, a node missed an update, or a partition.',
    check: ['The finding names the nodes and what each sees; compare their config epochs.'],
    fix: [
      'Settle the owner (CLUSTER SETSLOT … NODE, CLUSTER BUMPEPOCH on the right owner) or rejoin the odd node.',
    ],
    slotwatch: plan,
  },
  MASTER_NO_REPLICA: {
    title: 'MASTER_NO_REPLICA: a slot-owning master without a working replica',
    cause: 'The next failure of that master takes its slots down.',
    check: ['INFO replication on the master: connected_slaves and their link state.'],
    fix: ['Add a replica (CLUSTER REPLICATE on an empty node) or repair the broken one.'],
    slotwatch: plan,
  },
  FULL_COVERAGE_DISABLED: {
    title: 'FULL_COVERAGE_DISABLED: cluster-require-full-coverage no',
    cause:
      'Lost slots answer "Hash slot not served" instead of taking the cluster down: the problem is hidden, not gone.',
    check: ['CONFIG GET cluster-require-full-coverage on every node.'],
    fix: [
      'Restore coverage, then set it back to yes unless availability over consistency is a deliberate choice.',
    ],
  },
  NOT_CLUSTER: {
    title: 'NOT_CLUSTER: the seed is a standalone Redis',
    cause: 'cluster-enabled is no on that node, or the seed points at the wrong instance.',
    check: ['INFO cluster: cluster_enabled.'],
    fix: ['Point Slotwatch at a cluster node, or stop using cluster clients against a standalone Redis.'],
  },
  SLOTS_UNROUTABLE: {
    title: 'SLOTS_UNROUTABLE: clients cannot read a slot although it looks covered',
    cause:
      'Nodes redirect each other in a loop (a half-finished migration), or the keys sit on a node that redirects away.',
    check: ['Each node’s own view of the slot: owner, MIGRATING/IMPORTING, keys (not a majority vote).'],
    fix: [
      'Settle the slot on one owner that holds its keys (MIGRATE what is elsewhere, then SETSLOT NODE everywhere).',
    ],
    slotwatch: plan,
  },
  REPLY_UNPARSEABLE: {
    title: 'REPLY_UNPARSEABLE: a node answered something that is not what it should be',
    cause: 'A proxy, a different server on that port, or a Redis version or module that changes the reply.',
    check: ['The first bad line in the finding; what really listens on that address.'],
    fix: ['Point the seed at real cluster nodes; a report is never ok while a reachable node is unreadable.'],
  },
  LIMIT_EXCEEDED: {
    title: 'LIMIT_EXCEEDED: a reply or the cluster passed a limit',
    cause: 'A reply over the byte limit (default 16 MiB) or more nodes than the node limit (default 1,000).',
    check: ['Whether the node is hostile or the cluster really is that large.'],
    fix: [
      'Raise PROBE_MAX_REPLY_BYTES / PROBE_MAX_NODES (or --max-reply-bytes / --max-nodes) if it is genuine.',
    ],
  },
};

/** The entry for a finding code such as `SLOTS_OWNER_FAILED` (any case), or null. */
export function findingEntry(code: string): KnowledgeEntry | null {
  const key = code.trim().toUpperCase() as FindingCode;
  const entry = Object.hasOwn(FINDINGS, key) ? FINDINGS[key] : undefined;
  return entry ? { id: key, patterns: [], ...entry } : null;
}
