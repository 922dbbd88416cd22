import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { validateSeeds } from './core/diagnose.js';
import { MAX_NODES_CEILING } from './core/probe.js';
import { parseDuration } from './duration.js';

const duration = (name: string, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null || ms <= 0) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a duration like 15s, 30m or 2h (a bare number is seconds), got "${text}"`,
        });
        return z.NEVER;
      }
      return ms;
    });

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const seedList = z
  .array(z.string())
  .min(1)
  .superRefine((seeds, ctx) => {
    const valid = validateSeeds(seeds);
    if (!valid.ok) ctx.addIssue({ code: 'custom', message: valid.error.message });
  });

/** One watched cluster as CLUSTERS_FILE describes it. */
export const ClusterFileEntry = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/i, 'letters, digits, _ . - (up to 63)'),
  seeds: seedList,
  channel: z.string().optional(),
  username: z.string().optional(),
  passwordEnv: z.string().optional(),
  passwordFile: z.string().optional(),
  tls: z
    .union([z.boolean(), z.strictObject({ caFile: z.string().optional(), insecure: z.boolean().optional() })])
    .optional(),
  addressMap: z.record(z.string(), z.string()).optional(),
});
export type ClusterFileEntry = z.infer<typeof ClusterFileEntry>;

export const ClustersFile = z.union([
  z.array(ClusterFileEntry),
  z.strictObject({ clusters: z.array(ClusterFileEntry) }),
]);

/** A watched cluster, resolved: secrets read, ready for the probe. */
export interface ClusterConfig {
  readonly name: string;
  readonly seeds: readonly string[];
  readonly channel: string | null;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: { readonly ca?: string; readonly rejectUnauthorized?: boolean };
  readonly addressMap?: Readonly<Record<string, string>>;
  /** What one node may send before the probe gives up on it (PROBE_MAX_REPLY_BYTES, PROBE_MAX_NODES). */
  readonly probeLimits?: ProbeLimits;
}

export interface ProbeLimits {
  readonly maxReplyBytes: number;
  readonly maxNodes: number;
}

const hostPort = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+):(\d{1,5})$/i;

/** The queue Redis: one URL, or Redis Sentinel (sentinel addresses and the master's name). */
export const QueueRedisEnv = z.object({
  QUEUE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  QUEUE_REDIS_SENTINELS: z
    .string()
    .transform((text, ctx) =>
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((address) => {
          const match = hostPort.exec(address);
          const port = Number(match?.[2]);
          if (!match || port < 1 || port > 65535) {
            ctx.addIssue({ code: 'custom', message: `"${address}" is not host:port` });
            return { host: '', port: 0 };
          }
          return { host: (match[1] ?? '').replace(/^\[|\]$/g, ''), port };
        }),
    )
    .optional(),
  QUEUE_REDIS_MASTER_NAME: z
    .string()
    .regex(/^[a-z0-9_.-]{1,64}$/i, 'must be the name the sentinels monitor (letters, digits, _ . -)')
    .optional(),
  QUEUE_REDIS_PASSWORD: z.string().optional(),
  QUEUE_REDIS_SENTINEL_PASSWORD: z.string().optional(),
  QUEUE_REDIS_WAIT_REPLICAS: z.coerce
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 (do not wait) or more')
    .max(8, 'at most 8')
    .optional(),
  QUEUE_REDIS_WAIT_TIMEOUT: duration('QUEUE_REDIS_WAIT_TIMEOUT', '1s'),
});

/** Where the queue Redis is: a URL, or the sentinels that name its current master. */
export type QueueRedisTarget =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly { readonly host: string; readonly port: number }[];
      readonly masterName: string;
      readonly password?: string;
      readonly sentinelPassword?: string;
    };

export interface QueueRedisSettings {
  readonly target: QueueRedisTarget;
  /** After each state transition, wait for this many replicas to hold it (WAIT); 0: do not wait. */
  readonly waitReplicas: number;
  readonly waitTimeoutMs: number;
}

/** The queue Redis settings of an environment (the bot's and the CLI's); null when none is configured. */
export function queueRedisSettings(
  env: Readonly<Record<string, string | undefined>>,
): QueueRedisSettings | null {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('QUEUE_REDIS_') && v !== undefined && v !== ''),
  );
  const parsed = QueueRedisEnv.safeParse(present);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  const e = parsed.data;
  const sentinel = e.QUEUE_REDIS_SENTINELS !== undefined || e.QUEUE_REDIS_MASTER_NAME !== undefined;
  if (e.QUEUE_REDIS_URL && sentinel)
    throw new ConfigError(
      'QUEUE_REDIS_URL and QUEUE_REDIS_SENTINELS/QUEUE_REDIS_MASTER_NAME are both set: use the URL for one Redis, or the sentinels for a replicated one, not both',
    );
  if (sentinel && (!e.QUEUE_REDIS_SENTINELS?.length || !e.QUEUE_REDIS_MASTER_NAME))
    throw new ConfigError(
      `${e.QUEUE_REDIS_MASTER_NAME ? 'QUEUE_REDIS_SENTINELS' : 'QUEUE_REDIS_MASTER_NAME'} is not set: Sentinel needs both QUEUE_REDIS_SENTINELS (host:port,…) and QUEUE_REDIS_MASTER_NAME`,
    );
  if (!sentinel && (e.QUEUE_REDIS_PASSWORD || e.QUEUE_REDIS_SENTINEL_PASSWORD))
    throw new ConfigError(
      'QUEUE_REDIS_PASSWORD and QUEUE_REDIS_SENTINEL_PASSWORD are for Sentinel only: put the password in QUEUE_REDIS_URL (redis://:password@host:port)',
    );
  const target: QueueRedisTarget | null = e.QUEUE_REDIS_URL
    ? { kind: 'url', url: e.QUEUE_REDIS_URL }
    : e.QUEUE_REDIS_SENTINELS && e.QUEUE_REDIS_MASTER_NAME
      ? {
          kind: 'sentinel',
          sentinels: e.QUEUE_REDIS_SENTINELS,
          masterName: e.QUEUE_REDIS_MASTER_NAME,
          ...(e.QUEUE_REDIS_PASSWORD ? { password: e.QUEUE_REDIS_PASSWORD } : {}),
          ...(e.QUEUE_REDIS_SENTINEL_PASSWORD ? { sentinelPassword: e.QUEUE_REDIS_SENTINEL_PASSWORD } : {}),
        }
      : null;
  if (!target) return null;
  return {
    target,
    waitReplicas: e.QUEUE_REDIS_WAIT_REPLICAS ?? (target.kind === 'sentinel' ? 1 : 0),
    waitTimeoutMs: e.QUEUE_REDIS_WAIT_TIMEOUT,
  };
}

export const Env = z.object({
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'must be a bot token (xoxb-…)'),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'must be an app-level token (xapp-…) for Socket Mode')
    .optional(),
  SLACK_SIGNING_SECRET: z.string().min(8, 'must be the app signing secret').optional(),
  SLACK_API_URL: z.url({ message: 'must be a URL such as https://slack.com/api/' }).optional(),
  ...QueueRedisEnv.shape,
  CLUSTERS: z.string().optional(),
  CLUSTERS_FILE: z.string().optional(),
  ALERT_CHANNEL: z.string().optional(),
  SLACK_APPROVERS: z.string().default(''),
  APPROVALS_REQUIRED: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').default(2),
  APPROVAL_TTL: duration('APPROVAL_TTL', '30m'),
  MONITOR_INTERVAL: duration('MONITOR_INTERVAL', '15s'),
  WEBHOOK_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  GRAFANA_HMAC_SECRET: z.string().optional(),
  GRAFANA_HMAC_TIMESTAMP: z.enum(['required', 'optional']).default('required'),
  ALERT_CLUSTER_LABEL: z.string().default('cluster'),
  READ_ONLY: flag,
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]{1,40}$/i, 'letters, digits, _ or - (no ":")')
    .default('slotwatch'),
  AUDIT_RETENTION: duration('AUDIT_RETENTION', '90d'),
  QUEUE_LOCK_DURATION: duration('QUEUE_LOCK_DURATION', '30s'),
  QUEUE_STALLED_INTERVAL: duration('QUEUE_STALLED_INTERVAL', '30s'),
  REPAIR_WORKERS: z.coerce
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 (this replica runs no repairs) or more')
    .max(16, 'at most 16')
    .default(4),
  PROBE_MAX_REPLY_BYTES: z.coerce
    .number()
    .int('must be a whole number of bytes')
    .min(65_536, 'must be at least 65536 (64 KiB)')
    .max(2 ** 30, 'must be at most 1073741824 (1 GiB)')
    .default(16 * 1024 * 1024),
  PROBE_MAX_NODES: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(
      MAX_NODES_CEILING,
      `must be at most ${MAX_NODES_CEILING} (Redis Cluster's own ceiling; the cost of a diagnosis grows with its square)`,
    )
    .default(1000),
  PORT: z.coerce.number().int().min(0).max(65535, 'must be a TCP port').default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  readonly slack: {
    readonly botToken: string;
    readonly mode: 'socket' | 'http';
    readonly appToken?: string;
    readonly signingSecret?: string;
    readonly apiUrl?: string;
  };
  /** Null: no queue Redis, so no repairs, incidents or alerts. */
  readonly queueRedis: QueueRedisSettings | null;
  readonly queue: {
    readonly prefix: string;
    readonly lockDurationMs: number;
    readonly stalledIntervalMs: number;
    /** Repairs this replica runs at once; 0: it takes clicks and webhooks, others run the repairs. */
    readonly workers: number;
  };
  readonly auditRetentionMs: number;
  readonly probeLimits: ProbeLimits;
  readonly clusters: readonly ClusterConfig[];
  readonly defaultCluster: string;
  readonly alertChannel: string | null;
  readonly approvers: readonly string[];
  readonly approvalsRequired: number;
  readonly approvalTtlMs: number;
  readonly monitorIntervalMs: number;
  readonly webhookToken: string | null;
  readonly grafanaHmacSecret: string | null;
  /** 'required': a Grafana signature without X-Grafana-Alert-Timestamp (replayable forever) is refused. */
  readonly grafanaHmacTimestamp: 'required' | 'optional';
  readonly alertClusterLabel: string;
  readonly readOnly: boolean;
  readonly port: number;
  readonly logLevel: z.infer<typeof Env>['LOG_LEVEL'];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `prod=10.0.0.1:6379,10.0.0.2:6379;staging=…`; the first one is the default. */
function parseClustersVar(text: string): ClusterConfig[] {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      const name = part.slice(0, eq).trim();
      const seeds = part
        .slice(eq + 1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const entry = ClusterFileEntry.safeParse({ name, seeds });
      if (eq <= 0 || !entry.success) {
        throw new ConfigError(
          `CLUSTERS: "${part}" must be name=host:port[,host:port…]${entry.success ? '' : ` (${z.prettifyError(entry.error).replace(/\n/g, ' ')})`}`,
        );
      }
      return { name, seeds, channel: null };
    });
}

function readClustersFile(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  read: (p: string) => string,
): ClusterConfig[] {
  let raw: unknown;
  try {
    const text = read(path);
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`CLUSTERS_FILE: cannot read ${path}: ${(error as Error).message}`);
  }
  const parsed = ClustersFile.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`CLUSTERS_FILE ${path}:\n${z.prettifyError(parsed.error)}`);
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.clusters;
  return entries.map((entry) => {
    let password: string | undefined;
    if (entry.passwordEnv) {
      password = env[entry.passwordEnv];
      if (password === undefined)
        throw new ConfigError(
          `CLUSTERS_FILE: cluster ${entry.name} reads its password from ${entry.passwordEnv}, which is not set`,
        );
    } else if (entry.passwordFile) {
      try {
        password = read(entry.passwordFile).replace(/\r?\n$/, '');
      } catch (error) {
        throw new ConfigError(
          `CLUSTERS_FILE: cluster ${entry.name}: cannot read passwordFile ${entry.passwordFile}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        );
      }
    }
    const tlsOptions = typeof entry.tls === 'object' ? entry.tls : {};
    const caFile = tlsOptions.caFile;
    let ca: string | undefined;
    if (caFile) {
      try {
        ca = read(caFile);
      } catch (error) {
        throw new ConfigError(
          `CLUSTERS_FILE: cluster ${entry.name}: cannot read tls.caFile ${caFile}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        );
      }
    }
    const tls = entry.tls
      ? {
          ...(ca !== undefined ? { ca } : {}),
          ...(tlsOptions.insecure ? { rejectUnauthorized: false } : {}),
        }
      : undefined;
    return {
      name: entry.name,
      seeds: entry.seeds,
      channel: entry.channel ?? null,
      ...(entry.username ? { username: entry.username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(tls ? { tls } : {}),
      ...(entry.addressMap ? { addressMap: entry.addressMap } : {}),
    };
  });
}

/** Validates the environment once into one typed object; throws ConfigError naming the variable. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Env.safeParse(present);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  const e = parsed.data;
  if (!e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) {
    throw new ConfigError(
      'set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode, POST /slack/events)',
    );
  }
  const probeLimits = { maxReplyBytes: e.PROBE_MAX_REPLY_BYTES, maxNodes: e.PROBE_MAX_NODES };
  const clusters = [
    ...(e.CLUSTERS ? parseClustersVar(e.CLUSTERS) : []),
    ...(e.CLUSTERS_FILE ? readClustersFile(e.CLUSTERS_FILE, env, read) : []),
  ].map((cluster) => ({ ...cluster, probeLimits }));
  if (clusters.length === 0)
    throw new ConfigError(
      'set CLUSTERS (name=host:port,…;name2=…) or CLUSTERS_FILE: there is no cluster to watch',
    );
  const names = clusters.map((c) => c.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new ConfigError(`cluster "${duplicate}" is defined twice (CLUSTERS / CLUSTERS_FILE)`);
  const silent = clusters.filter((c) => c.channel === null).map((c) => c.name);
  if (e.WEBHOOK_TOKEN && !e.ALERT_CHANNEL && silent.length > 0)
    throw new ConfigError(
      `ALERT_CHANNEL is not set and cluster(s) ${silent.join(', ')} have no channel of their own: their alerts would be accepted and never posted (set ALERT_CHANNEL, or a channel per cluster in CLUSTERS_FILE)`,
    );
  const approvers = e.SLACK_APPROVERS.split(/[\s,]+/).filter(Boolean);
  const badApprover = approvers.find((a) => !/^[UWS][A-Z0-9]{2,}$/.test(a));
  if (badApprover)
    throw new ConfigError(
      `SLACK_APPROVERS: "${badApprover}" is not a Slack user id (U…, W…) or user-group id (S…)`,
    );
  const userIds = approvers.filter((a) => !a.startsWith('S'));
  const groups = approvers.length - userIds.length;
  if (approvers.length > 0 && groups === 0 && userIds.length < e.APPROVALS_REQUIRED) {
    throw new ConfigError(
      `SLACK_APPROVERS lists ${userIds.length} user(s) but APPROVALS_REQUIRED is ${e.APPROVALS_REQUIRED}: no repair could ever be approved (add approvers or a user group)`,
    );
  }
  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      mode: e.SLACK_APP_TOKEN ? 'socket' : 'http',
      ...(e.SLACK_APP_TOKEN ? { appToken: e.SLACK_APP_TOKEN } : {}),
      ...(e.SLACK_SIGNING_SECRET ? { signingSecret: e.SLACK_SIGNING_SECRET } : {}),
      ...(e.SLACK_API_URL
        ? { apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/` }
        : {}),
    },
    queueRedis: queueRedisSettings(env),
    queue: {
      prefix: e.QUEUE_PREFIX,
      lockDurationMs: e.QUEUE_LOCK_DURATION,
      stalledIntervalMs: e.QUEUE_STALLED_INTERVAL,
      workers: e.REPAIR_WORKERS,
    },
    auditRetentionMs: e.AUDIT_RETENTION,
    probeLimits,
    clusters,
    defaultCluster: clusters[0]?.name ?? '',
    alertChannel: e.ALERT_CHANNEL ?? null,
    approvers,
    approvalsRequired: e.APPROVALS_REQUIRED,
    approvalTtlMs: e.APPROVAL_TTL,
    monitorIntervalMs: e.MONITOR_INTERVAL,
    webhookToken: e.WEBHOOK_TOKEN ?? null,
    grafanaHmacSecret: e.GRAFANA_HMAC_SECRET ?? null,
    grafanaHmacTimestamp: e.GRAFANA_HMAC_TIMESTAMP,
    alertClusterLabel: e.ALERT_CLUSTER_LABEL,
    readOnly: e.READ_ONLY,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
  };
}
