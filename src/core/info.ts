import { err, ok, type ParseError, parseError, type Result } from './result.js';

export type InfoSections = Readonly<Record<string, Readonly<Record<string, string>>>>;

function parseKeyValueLines(
  text: string,
  what: 'info' | 'cluster-info',
  onSection: (name: string) => void,
  onPair: (key: string, value: string) => void,
): Result<true, ParseError> {
  if (typeof text !== 'string') return err(parseError(what, 0, 'reply is not text', String(text)));
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      onSection(line.slice(1).trim().toLowerCase());
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return err(parseError(what, index + 1, `"${line}" is not a key:value line`, text));
    onPair(line.slice(0, colon), line.slice(colon + 1));
  }
  return ok(true);
}

/** Parses an INFO reply into sections (`server`, `replication`, `keyspace`, …) of key/value pairs. */
export function parseInfo(text: string): Result<InfoSections, ParseError> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> = {};
  sections.default = current;
  const parsed = parseKeyValueLines(
    text,
    'info',
    (name) => {
      current = sections[name] ?? {};
      sections[name] = current;
    },
    (key, value) => {
      current[key] = value;
    },
  );
  if (!parsed.ok) return parsed;
  if (Object.values(sections).every((s) => Object.keys(s).length === 0)) {
    return err(parseError('info', 0, 'reply holds no field', text));
  }
  return ok(sections);
}

export interface ClusterInfo {
  readonly state: 'ok' | 'fail';
  readonly slotsAssigned: number;
  readonly slotsOk: number;
  readonly slotsPfail: number;
  readonly slotsFail: number;
  readonly knownNodes: number;
  readonly size: number;
  readonly currentEpoch: number;
  readonly myEpoch: number;
  readonly fields: Readonly<Record<string, string>>;
}

const REQUIRED_INFO_FIELDS = [
  'cluster_slots_assigned',
  'cluster_slots_ok',
  'cluster_slots_pfail',
  'cluster_slots_fail',
  'cluster_known_nodes',
  'cluster_size',
  'cluster_current_epoch',
  'cluster_my_epoch',
] as const;

/** Parses CLUSTER INFO. */
export function parseClusterInfo(text: string): Result<ClusterInfo, ParseError> {
  const fields: Record<string, string> = {};
  const parsed = parseKeyValueLines(
    text,
    'cluster-info',
    () => {},
    (key, value) => {
      fields[key] = value;
    },
  );
  if (!parsed.ok) return parsed;
  const state = fields.cluster_state;
  if (state !== 'ok' && state !== 'fail') {
    return err(
      parseError('cluster-info', 0, `cluster_state is "${state ?? 'missing'}", expected ok|fail`, text),
    );
  }
  const numbers: Record<string, number> = {};
  for (const key of REQUIRED_INFO_FIELDS) {
    const value = Number(fields[key]);
    if (fields[key] === undefined || !Number.isInteger(value)) {
      return err(parseError('cluster-info', 0, `${key} is missing or not an integer`, text));
    }
    numbers[key] = value;
  }
  const n = (key: (typeof REQUIRED_INFO_FIELDS)[number]): number => numbers[key] ?? 0;
  return ok({
    state,
    slotsAssigned: n('cluster_slots_assigned'),
    slotsOk: n('cluster_slots_ok'),
    slotsPfail: n('cluster_slots_pfail'),
    slotsFail: n('cluster_slots_fail'),
    knownNodes: n('cluster_known_nodes'),
    size: n('cluster_size'),
    currentEpoch: n('cluster_current_epoch'),
    myEpoch: n('cluster_my_epoch'),
    fields,
  });
}

/** `db0:keys=12,expires=0,avg_ttl=0` → 12. */
export function keyspaceKeys(info: InfoSections, db = 'db0'): number {
  const entry = info.keyspace?.[db];
  const match = entry ? /(?:^|,)keys=(\d+)/.exec(entry) : null;
  return match ? Number(match[1]) : 0;
}

/** Redis's default cluster-node-timeout, for a view whose config could not be read. */
export const DEFAULT_NODE_TIMEOUT_MS = 15_000;

/**
 * How much earlier than its master's last word on the cluster bus a replica's link may have gone down and
 * still count as up until the master went silent: INFO and gossip tell whole seconds, and the probe reads
 * the nodes moments apart. A fifth of the node timeout, between 2 and 5 s.
 */
export function linkSlackMs(nodeTimeoutMs: number = DEFAULT_NODE_TIMEOUT_MS): number {
  return Math.min(5000, Math.max(2000, nodeTimeoutMs / 5));
}

export interface ReplicaLink {
  /** It finished a sync from its master at least once: its keys are a copy of the master's. */
  readonly synced: boolean;
  /** How long its link to the master has been down (0 while up); null when it never came up. */
  readonly downSeconds: number | null;
}

/** The replication link of a replica, from its own INFO replication; null when it is no replica. */
export function replicaLink(info: InfoSections): ReplicaLink | null {
  const replication = info.replication;
  if (replication?.role !== 'slave') return null;
  const up = replication.master_link_status === 'up';
  const downSince = Number(replication.master_link_down_since_seconds ?? -1);
  const neverUp = !up && !(downSince >= 0);
  const offset = Number(replication.slave_repl_offset ?? 0);
  const syncing = replication.master_sync_in_progress === '1';
  return {
    synced: offset > 0 && !syncing && !neverUp,
    downSeconds: up ? 0 : neverUp ? null : downSince,
  };
}

/** A flat RESP2 map (`[key, value, key, value, …]`) as entries; null when it is not one. */
function flatMap(value: unknown): Map<string, unknown> | null {
  if (!Array.isArray(value) || value.length % 2 !== 0) return null;
  const entries = new Map<string, unknown>();
  for (let i = 0; i < value.length; i += 2) {
    const key = value[i];
    const name = typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : null;
    if (name === null) return null;
    entries.set(name, value[i + 1]);
  }
  return entries;
}

const text = (value: unknown): string | null =>
  typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : null;

/**
 * The `replication-offset` a CLUSTER SHARDS reply gives each of `ids` (what that node last announced on the
 * cluster bus). A hostile reply is read as data: anything not shaped as Redis sends it is skipped, never
 * trusted, and the walk is linear in the reply. Only non-negative safe integers count.
 */
export function shardOffsets(reply: unknown, ids: ReadonlySet<string>): Map<string, number> {
  const offsets = new Map<string, number>();
  if (!Array.isArray(reply)) return offsets;
  for (const shard of reply) {
    const nodes = flatMap(shard)?.get('nodes');
    if (!Array.isArray(nodes)) continue;
    for (const entry of nodes) {
      const node = flatMap(entry);
      const id = text(node?.get('id'));
      if (id === null || !ids.has(id)) continue;
      const raw = node?.get('replication-offset');
      const digits = text(raw);
      const offset =
        typeof raw === 'number'
          ? raw
          : digits !== null && /^\d{1,16}$/.test(digits)
            ? Number(digits)
            : Number.NaN;
      if (!Number.isSafeInteger(offset) || offset < 0) continue;
      offsets.set(id, Math.max(offsets.get(id) ?? 0, offset));
    }
  }
  return offsets;
}
