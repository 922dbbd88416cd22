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
