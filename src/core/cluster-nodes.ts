import { err, ok, type ParseError, parseError, type Result } from './result.js';
import { isSlot, mergeRanges, type SlotRange } from './slot-ranges.js';

export type LinkState = 'connected' | 'disconnected';

export interface SlotMigration {
  readonly slot: number;
  readonly peer: string;
}

/** One line of CLUSTER NODES: one node as seen by the node that answered. */
export interface ClusterNodeEntry {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  readonly hostname: string | null;
  /** `host:port`, or `null` for a node without an address (`noaddr`, `:0`). */
  readonly address: string | null;
  readonly flags: readonly string[];
  readonly myself: boolean;
  readonly role: 'master' | 'replica' | 'unknown';
  readonly masterId: string | null;
  readonly pingSent: number;
  readonly pongReceived: number;
  readonly configEpoch: number;
  readonly linkState: LinkState;
  readonly slots: readonly SlotRange[];
  /** Only on the `myself` line: `[slot->-peer]`. */
  readonly migrating: readonly SlotMigration[];
  /** Only on the `myself` line: `[slot-<-peer]`. */
  readonly importing: readonly SlotMigration[];
  /** Redis 7.2 / Valkey aux fields such as `shard-id`, `tls-port`. */
  readonly aux: Readonly<Record<string, string>>;
}

const NODE_ID = /^[0-9a-f]{40}$/;

export const hasFlag = (node: { flags: readonly string[] }, flag: string): boolean =>
  node.flags.includes(flag);

function parseAddress(
  field: string,
): Result<Pick<ClusterNodeEntry, 'host' | 'port' | 'busPort' | 'hostname' | 'aux'>, string> {
  const [hostPort = '', ...extras] = field.split(',');
  const at = hostPort.lastIndexOf('@');
  const ipPort = at >= 0 ? hostPort.slice(0, at) : hostPort;
  const busText = at >= 0 ? hostPort.slice(at + 1) : '0';
  const colon = ipPort.lastIndexOf(':');
  if (colon < 0) return err(`address "${field}" has no port`);
  const host = ipPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(ipPort.slice(colon + 1));
  const busPort = Number(busText);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(busPort) || busPort < 0) {
    return err(`address "${field}" has an invalid port`);
  }
  let hostname: string | null = null;
  const aux: Record<string, string> = {};
  extras.forEach((extra, index) => {
    const eq = extra.indexOf('=');
    if (eq > 0) aux[extra.slice(0, eq)] = extra.slice(eq + 1);
    else if (index === 0 && extra !== '') hostname = extra;
  });
  return ok({ host, port, busPort, hostname, aux });
}

type SlotToken =
  | { kind: 'range'; range: SlotRange }
  | { kind: 'migrating' | 'importing'; migration: SlotMigration };

function parseSlotToken(token: string): Result<SlotToken, string> {
  const open = /^\[(\d+)-([<>])-([0-9a-f]{40})\]$/.exec(token);
  if (open) {
    const slot = Number(open[1]);
    if (!isSlot(slot)) return err(`slot ${open[1]} is out of range`);
    return ok({
      kind: open[2] === '>' ? 'migrating' : 'importing',
      migration: { slot, peer: open[3] ?? '' },
    });
  }
  const range = /^(\d+)(?:-(\d+))?$/.exec(token);
  if (!range) return err(`"${token}" is not a slot, a range or an open slot`);
  const start = Number(range[1]);
  const end = range[2] === undefined ? start : Number(range[2]);
  if (!isSlot(start) || !isSlot(end) || end < start) return err(`slot range "${token}" is out of range`);
  return ok({ kind: 'range', range: [start, end] });
}

function parseLine(line: string, lineNo: number, input: string): Result<ClusterNodeEntry, ParseError> {
  const fail = (message: string) => err(parseError('cluster-nodes', lineNo, message, line || input));
  const fields = line.trim().split(/\s+/);
  if (fields.length < 8) return fail(`expected at least 8 fields, got ${fields.length}`);
  const [id = '', addressField = '', flagField = '', master = '', ping, pong, epoch, link = ''] = fields;
  if (!NODE_ID.test(id)) return fail(`"${id}" is not a 40-character node id`);
  const address = parseAddress(addressField);
  if (!address.ok) return fail(address.error);
  if (master !== '-' && !NODE_ID.test(master)) return fail(`"${master}" is neither "-" nor a node id`);
  const numbers = [ping, pong, epoch].map(Number);
  if (numbers.some((n) => !Number.isInteger(n) || n < 0))
    return fail('ping-sent, pong-recv and config-epoch must be integers');
  if (link !== 'connected' && link !== 'disconnected')
    return fail(`link state "${link}" is not connected|disconnected`);

  const flags = flagField === 'noflags' ? [] : flagField.split(',').filter(Boolean);
  const slots: SlotRange[] = [];
  const migrating: SlotMigration[] = [];
  const importing: SlotMigration[] = [];
  for (const token of fields.slice(8)) {
    const parsed = parseSlotToken(token);
    if (!parsed.ok) return fail(parsed.error);
    const value = parsed.value;
    if (value.kind === 'range') slots.push(value.range);
    else (value.kind === 'migrating' ? migrating : importing).push(value.migration);
  }
  const noAddress = flags.includes('noaddr') || address.value.port === 0 || address.value.host === '';
  const role = flags.includes('master') ? 'master' : flags.includes('slave') ? 'replica' : 'unknown';
  return ok({
    id,
    ...address.value,
    address: noAddress ? null : `${address.value.host}:${address.value.port}`,
    flags,
    myself: flags.includes('myself'),
    role,
    masterId: master === '-' ? null : master,
    pingSent: numbers[0] ?? 0,
    pongReceived: numbers[1] ?? 0,
    configEpoch: numbers[2] ?? 0,
    linkState: link,
    slots: mergeRanges(slots),
    migrating,
    importing,
  });
}

/** Lines in `text` (a last line without newline counts), counting no further than `stopAfter`. */
export function countLines(text: string, stopAfter = Number.POSITIVE_INFINITY): number {
  let lines = 0;
  let from = 0;
  while (from < text.length && lines <= stopAfter) {
    const newline = text.indexOf('\n', from);
    lines++;
    from = newline < 0 ? text.length : newline + 1;
  }
  return lines;
}

/** A CLUSTER NODES reply read line by line, so that a caller can stop between lines (linear overall). */
class NodesReader {
  readonly nodes: ClusterNodeEntry[] = [];
  private offset = 0;
  private lineNo = 0;

  constructor(private readonly text: string) {}

  get done(): boolean {
    return this.offset >= this.text.length;
  }

  /** Parses up to `maxLines` more lines; the first bad line ends the reading with its error. */
  read(maxLines: number): ParseError | null {
    for (let n = 0; n < maxLines && !this.done; n++) {
      const newline = this.text.indexOf('\n', this.offset);
      const end = newline < 0 ? this.text.length : newline;
      const line = this.text.slice(this.offset, end).replace(/\r$/, '');
      this.offset = end + 1;
      this.lineNo++;
      if (line.trim() === '') continue;
      const parsed = parseLine(line, this.lineNo, this.text);
      if (!parsed.ok) return parsed.error;
      this.nodes.push(parsed.value);
    }
    return null;
  }

  finish(): Result<ClusterNodeEntry[], ParseError> {
    if (this.nodes.length === 0) return err(parseError('cluster-nodes', 0, 'reply lists no node', this.text));
    let selves = 0;
    for (const node of this.nodes) if (node.myself) selves++;
    if (selves !== 1) {
      return err(parseError('cluster-nodes', 0, 'reply must have exactly one "myself" line', this.text));
    }
    return ok(this.nodes);
  }
}

const notText = (text: unknown) =>
  err(parseError('cluster-nodes', 0, `reply is ${typeof text}, not text`, String(text)));

/** Parses the full Redis 7 CLUSTER NODES reply (also Redis 7.2 and Valkey aux fields). */
export function parseClusterNodes(text: string): Result<ClusterNodeEntry[], ParseError> {
  if (typeof text !== 'string') return notText(text);
  const reader = new NodesReader(text);
  const error = reader.read(Number.POSITIVE_INFINITY);
  return error ? err(error) : reader.finish();
}

/**
 * parseClusterNodes in batches of `batchLines`, yielding to the event loop between batches, so that a
 * huge reply never stalls other work (timers, HTTP health checks).
 */
export async function parseClusterNodesInBatches(
  text: string,
  batchLines = 500,
): Promise<Result<ClusterNodeEntry[], ParseError>> {
  if (typeof text !== 'string') return notText(text);
  const reader = new NodesReader(text);
  while (!reader.done) {
    const error = reader.read(batchLines);
    if (error) return err(error);
    if (!reader.done) await new Promise(setImmediate);
  }
  return reader.finish();
}
