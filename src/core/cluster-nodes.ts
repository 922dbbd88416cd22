import {
  count,
  digitEnds,
  INTEGERS_EXPECTED,
  NodeFieldsMemo,
  type SlotMigration,
} from './cluster-node-fields.js';
import { err, ok, type ParseError, parseError, type Result } from './result.js';
import type { SlotRange } from './slot-ranges.js';
import { TimeSlicer } from './time-slices.js';

export { NodeFieldsMemo, type SlotMigration } from './cluster-node-fields.js';

export type LinkState = 'connected' | 'disconnected';

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

export const hasFlag = (node: { flags: readonly string[] }, flag: string): boolean =>
  node.flags.includes(flag);

/** Offset of the `n`th space of `line` from `from` on, or -1 when there are fewer. */
function nthSpace(line: string, from: number, n: number): number {
  let at = from - 1;
  for (let i = 0; i < n; i++) {
    at = line.indexOf(' ', at + 1);
    if (at < 0) return -1;
  }
  return at;
}

const fieldCount = (line: string): number => {
  let fields = 1;
  for (let at = line.indexOf(' '); at >= 0; at = line.indexOf(' ', at + 1)) fields++;
  return fields;
};

/** Whitespace other than single spaces between fields. */
const IRREGULAR_SPACE = /[^\S ]| {2}|^ | $/;

/** Where a line sits, for its parse errors. */
interface LineAt {
  readonly raw: string;
  readonly lineNo: number;
  readonly input: string;
}

const lineError = (message: string, at: LineAt) =>
  err(parseError('cluster-nodes', at.lineNo, message, at.raw || at.input));

/**
 * Reads a line whose fields are separated by single spaces; null when some field has other whitespace (then
 * the line is split the general way first).
 */
function parseFields(
  line: string,
  at: LineAt,
  memo: NodeFieldsMemo,
): Result<ClusterNodeEntry, ParseError> | null {
  const endOfMaster = nthSpace(line, 0, 4);
  const endOfPing = endOfMaster < 0 ? -1 : line.indexOf(' ', endOfMaster + 1);
  const endOfPong = endOfPing < 0 ? -1 : line.indexOf(' ', endOfPing + 1);
  if (endOfPong < 0 || line.indexOf(' ', endOfPong + 1) < 0) {
    return lineError(`expected at least 8 fields, got ${fieldCount(line)}`, at);
  }
  const head = memo.head(line.slice(0, endOfMaster));
  if (!head) return null;
  if (!head.ok) return lineError(head.error, at);
  const ping = line.slice(endOfMaster + 1, endOfPing);
  const pong = line.slice(endOfPing + 1, endOfPong);
  if (!(digitEnds(ping) && digitEnds(pong)) && IRREGULAR_SPACE.test(line)) return null;
  const pingSent = count(ping);
  const pongReceived = count(pong);
  if (pingSent < 0 || pongReceived < 0) return lineError(INTEGERS_EXPECTED, at);
  const tail = memo.tail(line.slice(endOfPong + 1));
  if (!tail) return null;
  if (!tail.ok) return lineError(tail.error, at);
  const h = head.value;
  const t = tail.value;
  return ok({
    id: h.id,
    host: h.host,
    port: h.port,
    busPort: h.busPort,
    hostname: h.hostname,
    aux: h.aux,
    address: h.address,
    flags: h.flags,
    myself: h.myself,
    role: h.role,
    masterId: h.masterId,
    pingSent,
    pongReceived,
    configEpoch: t.configEpoch,
    linkState: t.linkState,
    slots: t.slots,
    migrating: t.migrating,
    importing: t.importing,
  });
}

function parseLine(
  line: string,
  lineNo: number,
  input: string,
  memo: NodeFieldsMemo,
): Result<ClusterNodeEntry, ParseError> {
  const at = { raw: line, lineNo, input };
  const fast = parseFields(line, at, memo);
  // An error on a line with other whitespace may be one of field boundaries: read it the general way.
  if (fast && (fast.ok || !IRREGULAR_SPACE.test(line))) return fast;
  const canonical = line.trim().split(/\s+/).join(' ');
  const parsed = parseFields(canonical, at, memo);
  return parsed ?? lineError('unreadable whitespace', at);
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

/** Whether `line` holds only whitespace; a line starting with a visible ASCII character is not trimmed. */
function isBlank(line: string): boolean {
  const first = line.charCodeAt(0);
  if (first > 32 && first < 127) return false;
  return line.trim() === '';
}

/** A CLUSTER NODES reply read line by line, so that a caller can stop between lines (linear overall). */
class NodesReader {
  readonly nodes: ClusterNodeEntry[] = [];
  private offset = 0;
  private lineNo = 0;

  constructor(
    private readonly text: string,
    private readonly memo: NodeFieldsMemo,
  ) {}

  get done(): boolean {
    return this.offset >= this.text.length;
  }

  get linesRead(): number {
    return this.lineNo;
  }

  /** Parses up to `maxLines` more lines; the first bad line ends the reading with its error. */
  read(maxLines: number): ParseError | null {
    for (let n = 0; n < maxLines && !this.done; n++) {
      const newline = this.text.indexOf('\n', this.offset);
      const end = newline < 0 ? this.text.length : newline;
      const cr = end > this.offset && this.text.charCodeAt(end - 1) === 13;
      const line = this.text.slice(this.offset, cr ? end - 1 : end);
      this.offset = end + 1;
      this.lineNo++;
      if (isBlank(line)) continue;
      const parsed = parseLine(line, this.lineNo, this.text, this.memo);
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
export function parseClusterNodes(
  text: string,
  memo = new NodeFieldsMemo(),
): Result<ClusterNodeEntry[], ParseError> {
  if (typeof text !== 'string') return notText(text);
  const reader = new NodesReader(text, memo);
  const error = reader.read(Number.POSITIVE_INFINITY);
  return error ? err(error) : reader.finish();
}

/** Parsing stopped at the probe's deadline: the reply was received but is too long to read in time. */
export interface LateParse {
  readonly code: 'LATE';
  readonly message: string;
  readonly linesRead: number;
}

export interface SlicedParseOptions {
  /** Yields to the event loop whenever its slice is used up. @defaultValue a new TimeSlicer */
  readonly slicer?: TimeSlicer;
  /** Parsing gives up past this time (`now()`): the result is a LateParse. */
  readonly deadlineAt?: number;
  readonly now?: () => number;
}

/**
 * parseClusterNodes cut into time slices: between batches of `batchLines` it lets the event loop run once
 * the slice is used up, so that a huge reply never stalls other work (timers, HTTP health checks), and gives
 * up at `deadlineAt`. Pass one memo to every reply of a probe.
 */
export async function parseClusterNodesInBatches(
  text: string,
  batchLines = 64,
  memo = new NodeFieldsMemo(),
  options: SlicedParseOptions = {},
): Promise<Result<ClusterNodeEntry[], ParseError | LateParse>> {
  if (typeof text !== 'string') return notText(text);
  const slicer = options.slicer ?? new TimeSlicer();
  const now = options.now ?? Date.now;
  const reader = new NodesReader(text, memo);
  while (!reader.done) {
    const error = reader.read(batchLines);
    if (error) return err(error);
    if (reader.done) break;
    await slicer.pause();
    if (options.deadlineAt !== undefined && now() >= options.deadlineAt) {
      const linesRead = reader.linesRead;
      return err({ code: 'LATE', message: `not read by the deadline (${linesRead} lines read)`, linesRead });
    }
  }
  return reader.finish();
}
