import {
  type ClusterNodeEntry,
  countLines,
  NodeFieldsMemo,
  parseClusterNodesInBatches,
} from './cluster-nodes.js';
import {
  type ConnectOptions,
  classifyError,
  connectNode,
  type NodeClient,
  type NodeError,
} from './connection.js';
import { type ClusterInfo, type InfoSections, parseClusterInfo, parseInfo } from './info.js';
import { type OwnKeyCounts, ownCountCommand, parseOwnCounts } from './own-key-counts.js';
import { mapBounded, within } from './pool.js';
import { err, ok, type ParseError, parseError, type Result } from './result.js';
import type { SlotRange } from './slot-ranges.js';
import { TimeSlicer } from './time-slices.js';

export interface ClusterConfig {
  readonly requireFullCoverage: boolean | null;
  readonly allowReadsWhenDown: boolean | null;
  readonly nodeTimeoutMs: number | null;
  /** Why the config could not be read (CONFIG renamed or refused), else null. */
  readonly unavailable: string | null;
}

/** Everything one node said about itself and the cluster. */
export interface NodeView {
  readonly address: string;
  readonly reachable: boolean;
  readonly error: NodeError | null;
  readonly latencyMs: number;
  readonly notCluster: boolean;
  readonly nodes: readonly ClusterNodeEntry[] | null;
  readonly clusterInfo: ClusterInfo | null;
  readonly info: InfoSections | null;
  readonly config: ClusterConfig;
  readonly parseErrors: readonly ParseError[];
  /** Keys in the node's own slots, counted in the same round trip; null when not available (refused, old). */
  readonly ownKeys?: OwnKeyCounts | null;
}

export interface ProbeOptions extends Omit<ConnectOptions, 'timeoutMs'> {
  /** Each node must answer everything within this. */
  readonly nodeTimeoutMs?: number;
  /** The whole probe ends by then, whatever hangs. */
  readonly deadlineMs?: number;
  /** @defaultValue DEFAULT_CONCURRENCY (64) */
  readonly concurrency?: number;
  /** Announced address → address to dial (NAT, Kubernetes). */
  readonly addressMap?: Readonly<Record<string, string>>;
  /**
   * Most nodes one CLUSTER NODES reply may list (a longer one is not parsed) and most distinct addresses
   * the probe dials in all.
   * @defaultValue 1000
   */
  readonly maxNodes?: number;
  /**
   * Masters count the keys of their own slots in the probe's round trip (for the key counts a diagnosis
   * needs); a probe that only reads views (a repair's snapshots) turns it off. @defaultValue true
   */
  readonly countOwnKeys?: boolean;
  /** Paces the CPU work between reads (parsing, and the analysis after it). @defaultValue a new one per probe */
  readonly slicer?: TimeSlicer;
  readonly now?: () => number;
}

/** Addresses discovery found but did not dial because of maxNodes. */
export interface Discovery {
  readonly maxNodes: number;
  readonly skipped: number;
}

export interface Probe {
  readonly seeds: readonly string[];
  readonly views: readonly NodeView[];
  /** Open connections to reachable nodes, by dialed address; close with closeProbe. */
  readonly clients: ReadonlyMap<string, NodeClient>;
  readonly startedAt: number;
  readonly deadlineAt: number;
  readonly options: ProbeOptions;
  readonly discovery: Discovery;
  /** CLUSTER NODES fields already parsed, shared by every read of this probe. */
  readonly fieldsMemo: NodeFieldsMemo;
  /** Shared by every CPU stage of this probe, so that they take turns with the event loop. */
  readonly slicer: TimeSlicer;
}

const CONFIG_KEYS = [
  'cluster-require-full-coverage',
  'cluster-allow-reads-when-down',
  'cluster-node-timeout',
];
const NO_CONFIG: ClusterConfig = {
  requireFullCoverage: null,
  allowReadsWhenDown: null,
  nodeTimeoutMs: null,
  unavailable: 'not read',
};

export const DEFAULT_NODE_TIMEOUT_MS = 2000;
export const DEFAULT_DEADLINE_MS = 5000;
export const DEFAULT_MAX_NODES = 1000;
/**
 * Highest node limit allowed: Redis Cluster's documented ceiling. Every node lists every other, so a
 * diagnosis costs the square of the node count: 1,000 nodes take ~2.5 s of CPU and ~450 MB, 2,000 would not
 * fit the bot's 1 GiB heap nor the probe's deadline.
 */
export const MAX_NODES_CEILING = 1000;
/** Nodes probed at once: a 60-node cluster in one go; bounds memory to this many replies in flight. */
export const DEFAULT_CONCURRENCY = 64;

const text = (value: unknown): string =>
  typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : '';

const kindOf = (value: unknown): string =>
  value === null
    ? 'nil'
    : Array.isArray(value)
      ? 'an array'
      : typeof value === 'number'
        ? 'an integer'
        : typeof value;

/** A reply that should be a bulk string, as text; any other RESP type is a parse error. */
function replyText(what: ParseError['what'], reply: unknown): Result<string, ParseError> {
  if (typeof reply === 'string') return ok(reply);
  if (Buffer.isBuffer(reply)) return ok(reply.toString('utf8'));
  const shown = JSON.stringify(reply) ?? String(reply);
  return err(parseError(what, 0, `expected a bulk string, got ${kindOf(reply)}`, shown.slice(0, 200)));
}

/** The INFO sections the analysis reads, asked one by one (one section per INFO works on every version). */
const INFO_SECTIONS = ['server', 'replication', 'cluster', 'keyspace'];

/** INFO replies of several sections as one INFO text; a refused INFO is thrown, like a refused connection. */
function sectionsText(replies: readonly unknown[]): Result<string, ParseError> {
  const texts: string[] = [];
  for (const reply of replies) {
    if (reply instanceof Error) throw reply;
    const text = replyText('info', reply);
    if (!text.ok) return text;
    texts.push(text.value);
  }
  return ok(texts.join('\r\n'));
}

type NodesRead =
  | { readonly kind: 'nodes'; readonly nodes: ClusterNodeEntry[] }
  | { readonly kind: 'unparseable'; readonly error: ParseError }
  | { readonly kind: 'limit'; readonly error: NodeError };

/** How the CPU work on a probe's replies is paced and bounded. */
interface ReadContext {
  readonly maxNodes: number;
  readonly memo: NodeFieldsMemo;
  readonly slicer: TimeSlicer;
  readonly deadlineAt: number;
  readonly now: () => number;
}

/**
 * Reads a CLUSTER NODES reply: counted before it is parsed, parsed in time slices, given up at the probe's
 * deadline (a reply received but too long to read in time is a limit, never "no answer").
 */
async function readNodesReply(reply: unknown, ctx: ReadContext): Promise<NodesRead> {
  const body = replyText('cluster-nodes', reply);
  if (!body.ok) return { kind: 'unparseable', error: body.error };
  const lines = countLines(body.value, ctx.maxNodes);
  if (lines > ctx.maxNodes) {
    return {
      kind: 'limit',
      error: {
        code: 'limit',
        message: `CLUSTER NODES lists more than ${ctx.maxNodes} lines (the node limit); its view was not read`,
      },
    };
  }
  const nodes = await parseClusterNodesInBatches(body.value, undefined, ctx.memo, ctx);
  if (nodes.ok) return { kind: 'nodes', nodes: nodes.value };
  if (nodes.error.code === 'LATE') {
    return {
      kind: 'limit',
      error: {
        code: 'limit',
        message: `answered CLUSTER NODES with ${lines} lines that could not be read before the probe deadline (${nodes.error.linesRead} read)`,
      },
    };
  }
  return { kind: 'unparseable', error: nodes.error };
}

function parseConfigReply(reply: unknown): ClusterConfig {
  if (reply instanceof Error) return { ...NO_CONFIG, unavailable: `CONFIG GET refused: ${reply.message}` };
  const pairs = Array.isArray(reply) ? reply.map(text) : [];
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) values.set(pairs[i] ?? '', pairs[i + 1] ?? '');
  const flag = (key: string) => (values.has(key) ? values.get(key) === 'yes' : null);
  const timeout = values.get('cluster-node-timeout');
  return {
    requireFullCoverage: flag('cluster-require-full-coverage'),
    allowReadsWhenDown: flag('cluster-allow-reads-when-down'),
    nodeTimeoutMs: timeout === undefined ? null : Number(timeout),
    unavailable: values.size === 0 ? 'CONFIG GET returned nothing' : null,
  };
}

const unreachable = (address: string, error: NodeError, latencyMs: number): NodeView => ({
  address,
  reachable: false,
  error,
  latencyMs,
  notCluster: false,
  nodes: null,
  clusterInfo: null,
  info: null,
  config: NO_CONFIG,
  parseErrors: [],
});

const PROBE_COMMANDS = [
  ['CLUSTER', 'NODES'],
  ['CLUSTER', 'INFO'],
  ['CONFIG', 'GET', ...CONFIG_KEYS],
  ...INFO_SECTIONS.map((section) => ['INFO', section]),
];

/**
 * The probe's commands for one node; a master named with slots also counts the keys of those slots in the
 * same round trip, so that a healthy master needs no second one for key counts.
 */
function probeCommands(claim: readonly SlotRange[] | undefined): (string | number)[][] {
  const count = claim ? ownCountCommand(claim) : null;
  return count ? [...PROBE_COMMANDS, count] : PROBE_COMMANDS;
}

/** What one node's replies say; refused commands that mean "unreachable" are thrown. */
async function readReplies(
  replies: readonly unknown[],
  ctx: ReadContext,
  asked: readonly SlotRange[] | undefined,
): Promise<Omit<NodeView, 'address' | 'latencyMs'>> {
  const [nodesReply, infoReply, configReply, ...infoReplies] = replies.slice(0, PROBE_COMMANDS.length);
  const ownKeys = asked ? parseOwnCounts(replies.at(-1), asked) : null;
  const parseErrors: ParseError[] = [];
  const infoText = sectionsText(infoReplies);
  const info = infoText.ok ? parseInfo(infoText.value) : infoText;
  if (!info.ok) parseErrors.push(info.error);
  const infoValue = info.ok ? info.value : null;
  const base = {
    reachable: true,
    error: null,
    info: infoValue,
    config: parseConfigReply(configReply),
    ownKeys,
  };
  if (nodesReply instanceof Error) {
    if (/cluster support disabled/i.test(nodesReply.message) || infoValue?.cluster?.cluster_enabled === '0') {
      return { ...base, notCluster: true, nodes: null, clusterInfo: null, parseErrors };
    }
    if (classifyError(nodesReply).code !== 'error' || /^NOPERM/.test(nodesReply.message)) throw nodesReply;
  }
  const nodes: NodesRead =
    nodesReply instanceof Error
      ? {
          kind: 'unparseable',
          error: parseError(
            'cluster-nodes',
            0,
            'expected a bulk string, got an error reply',
            nodesReply.message,
          ),
        }
      : await readNodesReply(nodesReply, ctx);
  if (nodes.kind === 'limit') {
    return {
      ...base,
      reachable: false,
      error: nodes.error,
      notCluster: false,
      nodes: null,
      clusterInfo: null,
      parseErrors,
    };
  }
  if (nodes.kind === 'unparseable') parseErrors.push(nodes.error);
  const infoBody = infoReply instanceof Error ? null : replyText('cluster-info', infoReply);
  const clusterInfo = infoBody?.ok ? parseClusterInfo(infoBody.value) : infoBody;
  if (clusterInfo && !clusterInfo.ok) parseErrors.push(clusterInfo.error);
  return {
    ...base,
    notCluster: false,
    nodes: nodes.kind === 'nodes' ? nodes.nodes : null,
    clusterInfo: clusterInfo?.ok ? clusterInfo.value : null,
    parseErrors,
  };
}

/**
 * Reads every node's own view: from the seeds, discovers every node their views list, then queries all of
 * them in parallel (bounded), each within its own deadline and all within the overall one.
 */
export async function probeCluster(seeds: readonly string[], options: ProbeOptions = {}): Promise<Probe> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const nodeTimeoutMs = options.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  const deadlineAt = startedAt + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const clients = new Map<string, NodeClient>();
  const views = new Map<string, NodeView>();
  const dial = (address: string) => options.addressMap?.[address] ?? address;
  const maxNodes = Math.min(options.maxNodes ?? DEFAULT_MAX_NODES, MAX_NODES_CEILING);
  const fieldsMemo = new NodeFieldsMemo();
  const slicer = options.slicer ?? new TimeSlicer();
  const ctx: ReadContext = { maxNodes, memo: fieldsMemo, slicer, deadlineAt, now };
  /** The slots the view that named each address gives it, counted in the node's probe round trip. */
  const claims = new Map<string, readonly SlotRange[]>();
  const followUps: Promise<void>[] = [];

  /** A master probed without a claim (a seed) counts its own view's slots while the others are probed. */
  const countOwnKeys = options.countOwnKeys ?? true;
  const countOwnLater = (view: NodeView) => {
    const self = view.nodes?.find((n) => n.myself);
    const client = clients.get(view.address);
    const command = self?.role === 'master' ? ownCountCommand(self.slots) : null;
    if (!countOwnKeys || !client || !command || view.ownKeys) return;
    const budget = Math.min(nodeTimeoutMs, deadlineAt - now());
    followUps.push(
      within(client.pipeline([command]), budget)
        .then((answer) => {
          const ownKeys = answer.done && self ? parseOwnCounts(answer.value[0], self.slots) : null;
          if (ownKeys) views.set(view.address, { ...view, ownKeys });
        })
        .catch(() => {}),
    );
  };

  /** Connects and sends every probe command: the node's own deadline covers only this, the network part. */
  const fetchOne = async (address: string, budget: number, began: number) => {
    let abandoned = false;
    const attempt = (async (): Promise<NodeView | { client: NodeClient; replies: unknown[] }> => {
      const connected = await connectNode(dial(address), { ...options, timeoutMs: budget });
      if (!connected.ok) return unreachable(address, connected.error, now() - began);
      const client = connected.value;
      if (abandoned) client.close();
      else clients.set(address, client);
      try {
        return { client, replies: await client.pipeline(probeCommands(claims.get(address))) };
      } catch (error) {
        clients.delete(address);
        client.close();
        return unreachable(address, classifyError(error), now() - began);
      }
    })();
    const outcome = await within(attempt, budget + 50);
    if (outcome.done) return outcome.value;
    // The attempt still runs; it closes what it opens, and closing now ends a read in flight.
    abandoned = true;
    clients.get(address)?.close();
    clients.delete(address);
    return unreachable(address, { code: 'timeout', message: `no answer within ${budget} ms` }, now() - began);
  };

  const probeOne = async (address: string): Promise<NodeView> => {
    const began = now();
    const budget = Math.min(nodeTimeoutMs, deadlineAt - began);
    if (budget <= 0)
      return unreachable(address, { code: 'timeout', message: 'probe deadline reached first' }, 0);
    const fetched = await fetchOne(address, budget, began);
    if (!('replies' in fetched)) return fetched;
    const { client, replies } = fetched;
    const latencyMs = now() - began;
    const drop = () => {
      clients.delete(address);
      client.close();
    };
    try {
      // Reading what arrived is CPU work, paced and bounded by the probe's deadline, not the node's.
      const view: NodeView = {
        address,
        latencyMs,
        ...(await readReplies(replies, ctx, claims.get(address))),
      };
      if (!view.reachable) drop();
      return view;
    } catch (error) {
      drop();
      return unreachable(address, classifyError(error), latencyMs);
    }
  };

  const skipped = new Set<string>();
  let pending = [...new Set(seeds)];
  while (pending.length > 0) {
    const room = Math.max(0, maxNodes - views.size);
    for (const address of pending.slice(room)) skipped.add(address);
    const batch = await mapBounded(
      pending.slice(0, room),
      options.concurrency ?? DEFAULT_CONCURRENCY,
      probeOne,
    );
    for (const view of batch) {
      views.set(view.address, view);
      if (view.reachable && !view.ownKeys) countOwnLater(view);
    }
    const discovered = new Set<string>();
    for (const view of batch) {
      await slicer.pause();
      for (const node of view.nodes ?? []) {
        const address = node.address;
        if (address === null || views.has(address) || skipped.has(address)) continue;
        discovered.add(address);
        if (countOwnKeys && node.role === 'master' && node.slots.length > 0 && !claims.has(address))
          claims.set(address, node.slots);
      }
    }
    pending = [...discovered];
  }
  await Promise.all(followUps);
  return {
    seeds,
    views: [...views.values()],
    clients,
    startedAt,
    deadlineAt,
    options,
    discovery: { maxNodes, skipped: skipped.size },
    fieldsMemo,
    slicer,
  };
}

/** Reads CLUSTER NODES again from every reachable node (used to let gossip settle). */
export async function rereadViews(probe: Probe): Promise<Probe> {
  const views = await mapBounded(
    probe.views,
    probe.options.concurrency ?? DEFAULT_CONCURRENCY,
    async (view) => {
      const client = probe.clients.get(view.address);
      if (!client || !view.nodes) return view;
      const reply = await client.call('CLUSTER', 'NODES').catch((error: Error) => error);
      if (reply instanceof Error) return view;
      const nodes = await readNodesReply(reply, {
        maxNodes: probe.discovery.maxNodes,
        memo: probe.fieldsMemo,
        slicer: probe.slicer,
        deadlineAt: probe.deadlineAt,
        now: probe.options.now ?? Date.now,
      });
      // Views read again may have changed: keys are counted after, against the settled views.
      return nodes.kind === 'nodes' ? { ...view, nodes: nodes.nodes, ownKeys: null } : view;
    },
  );
  return { ...probe, views };
}

export function closeProbe(probe: Probe): void {
  for (const client of probe.clients.values()) client.close();
}
