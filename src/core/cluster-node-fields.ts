import { err, ok, type Result } from './result.js';
import { isSlot, mergeRanges, type SlotRange } from './slot-ranges.js';

export interface SlotMigration {
  readonly slot: number;
  readonly peer: string;
}

interface AddressFields {
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  readonly hostname: string | null;
  /** Redis 7.2 / Valkey aux fields such as `shard-id`, `tls-port`. */
  readonly aux: Readonly<Record<string, string>>;
  /** `host:port`, or `null` when the address field names no port or host. */
  readonly address: string | null;
}

interface FlagFields {
  readonly flags: readonly string[];
  readonly myself: boolean;
  readonly role: 'master' | 'replica' | 'unknown';
  readonly noaddr: boolean;
}

interface SlotFields {
  readonly slots: readonly SlotRange[];
  readonly migrating: readonly SlotMigration[];
  readonly importing: readonly SlotMigration[];
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;
const isHex = (code: number): boolean => isDigit(code) || (code >= 97 && code <= 102);

/** `[0-9a-f]{40}`, without a regex. */
function isNodeId(text: string): boolean {
  if (text.length !== 40) return false;
  for (let i = 0; i < 40; i++) if (!isHex(text.charCodeAt(i))) return false;
  return true;
}

/** End of the run of digits starting at `from` (== from when there is none). */
function digitsEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  return i;
}

function parseAddress(field: string): Result<AddressFields, string> {
  const comma = field.indexOf(',');
  const hostPort = comma < 0 ? field : field.slice(0, comma);
  const at = hostPort.lastIndexOf('@');
  const ipPort = at >= 0 ? hostPort.slice(0, at) : hostPort;
  const busText = at >= 0 ? hostPort.slice(at + 1) : '0';
  const colon = ipPort.lastIndexOf(':');
  if (colon < 0) return err(`address "${field}" has no port`);
  const bracketed = colon > 1 && ipPort.startsWith('[') && ipPort.charCodeAt(colon - 1) === 93;
  const host = bracketed ? ipPort.slice(1, colon - 1) : ipPort.slice(0, colon);
  const port = Number(ipPort.slice(colon + 1));
  const busPort = Number(busText);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(busPort) || busPort < 0) {
    return err(`address "${field}" has an invalid port`);
  }
  let hostname: string | null = null;
  const aux: Record<string, string> = {};
  if (comma >= 0) {
    field
      .slice(comma + 1)
      .split(',')
      .forEach((extra, index) => {
        const eq = extra.indexOf('=');
        if (eq > 0) aux[extra.slice(0, eq)] = extra.slice(eq + 1);
        else if (index === 0 && extra !== '') hostname = extra;
      });
  }
  const address = port === 0 || host === '' ? null : `${host}:${port}`;
  return ok({ host, port, busPort, hostname, aux, address });
}

function parseFlags(field: string): FlagFields {
  const flags = field === 'noflags' ? [] : field.split(',').filter((f) => f !== '');
  return {
    flags,
    myself: flags.includes('myself'),
    role: flags.includes('master') ? 'master' : flags.includes('slave') ? 'replica' : 'unknown',
    noaddr: flags.includes('noaddr'),
  };
}

/** `[slot->-peer]` or `[slot-<-peer]`; null when the token is not of that shape. */
function parseOpenSlot(
  token: string,
): Result<{ migrating: boolean; migration: SlotMigration }, string> | null {
  const end = digitsEnd(token, 1);
  const arrow = token.charCodeAt(end + 1);
  if (
    token.length !== end + 44 ||
    token.charCodeAt(0) !== 91 ||
    end === 1 ||
    token.charCodeAt(end) !== 45 ||
    (arrow !== 60 && arrow !== 62) ||
    token.charCodeAt(end + 2) !== 45 ||
    token.charCodeAt(end + 43) !== 93
  ) {
    return null;
  }
  const peer = token.slice(end + 3, end + 43);
  if (!isNodeId(peer)) return null;
  const digits = token.slice(1, end);
  const slot = Number(digits);
  if (!isSlot(slot)) return err(`slot ${digits} is out of range`);
  return ok({ migrating: arrow === 62, migration: { slot, peer } });
}

/** `5` or `0-5460`; null when the token is not of that shape. */
function parseRange(token: string): Result<SlotRange, string> | null {
  const first = digitsEnd(token, 0);
  if (first === 0) return null;
  let end = first;
  if (first < token.length) {
    if (token.charCodeAt(first) !== 45) return null;
    end = digitsEnd(token, first + 1);
    if (end === first + 1 || end !== token.length) return null;
  }
  const start = Number(token.slice(0, first));
  const last = end === first ? start : Number(token.slice(first + 1));
  if (!isSlot(start) || !isSlot(last) || last < start) return err(`slot range "${token}" is out of range`);
  return ok([start, last]);
}

function parseSlots(section: string): Result<SlotFields, string> {
  const slots: SlotRange[] = [];
  const migrating: SlotMigration[] = [];
  const importing: SlotMigration[] = [];
  if (section === '') return ok({ slots, migrating, importing });
  for (const token of section.split(' ')) {
    const open = parseOpenSlot(token);
    if (open) {
      if (!open.ok) return open;
      (open.value.migrating ? migrating : importing).push(open.value.migration);
      continue;
    }
    const range = parseRange(token);
    if (!range) return err(`"${token}" is not a slot, a range or an open slot`);
    if (!range.ok) return range;
    slots.push(range.value);
  }
  return ok({ slots: mergeRanges(slots), migrating, importing });
}

/** The fields before ping-sent: who the node is, where, and what it is. */
export interface HeadFields extends AddressFields, Omit<FlagFields, 'noaddr'> {
  readonly id: string;
  readonly masterId: string | null;
}

/** The fields after pong-recv: config epoch, link state and slots. */
export interface TailFields extends SlotFields {
  readonly configEpoch: number;
  readonly linkState: 'connected' | 'disconnected';
}

/**
 * Whether `text` starts and ends with a digit: then Number() reads it the same whether or not the line had
 * other whitespace around it (Number never accepts whitespace inside).
 */
export const digitEnds = (text: string): boolean =>
  text.length > 0 && isDigit(text.charCodeAt(0)) && isDigit(text.charCodeAt(text.length - 1));

/** A whole, non-negative integer, or -1. */
export const count = (text: string): number => {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : -1;
};

export const INTEGERS_EXPECTED = 'ping-sent, pong-recv and config-epoch must be integers';

/** `<id> <address> <flags> <master>`, checked in that order. */
function parseHead(head: string): Result<HeadFields, string> {
  const [id = '', addressField = '', flagField = '', master = ''] = head.split(' ');
  if (!isNodeId(id)) return err(`"${id}" is not a 40-character node id`);
  const address = parseAddress(addressField);
  if (!address.ok) return address;
  if (master !== '-' && !isNodeId(master)) return err(`"${master}" is neither "-" nor a node id`);
  const { flags, myself, role, noaddr } = parseFlags(flagField);
  return ok({
    id,
    ...address.value,
    address: noaddr ? null : address.value.address,
    flags,
    myself,
    role,
    masterId: master === '-' ? null : master,
  });
}

/** `<config-epoch> <link-state> [<slot> …]`. */
function parseTail(tail: string): Result<TailFields, string> {
  const first = tail.indexOf(' ');
  const second = first < 0 ? -1 : tail.indexOf(' ', first + 1);
  const configEpoch = count(tail.slice(0, first));
  if (configEpoch < 0) return err(INTEGERS_EXPECTED);
  const linkState = second < 0 ? tail.slice(first + 1) : tail.slice(first + 1, second);
  if (linkState !== 'connected' && linkState !== 'disconnected')
    return err(`link state "${linkState}" is not connected|disconnected`);
  const slots = parseSlots(second < 0 ? '' : tail.slice(second + 1));
  return slots.ok ? ok({ configEpoch, linkState, ...slots.value }) : slots;
}

/** Whitespace other than single spaces between fields. */
const IRREGULAR_SPACE = /[^\S ]| {2}|^ | $/;

/**
 * The two parts of a CLUSTER NODES line that repeat across the views of one cluster (all but ping-sent and
 * pong-recv), parsed once per distinct text and shared by every reply of one probe (results are never
 * mutated). Grows with the distinct text it has seen, so at most linearly with the input.
 */
export class NodeFieldsMemo {
  private readonly heads = new Map<string, Result<HeadFields, string> | null>();
  private readonly tails = new Map<string, Result<TailFields, string> | null>();

  /** The parsed head, or null when its text has whitespace other than single spaces. */
  head(text: string): Result<HeadFields, string> | null {
    let parsed = this.heads.get(text);
    if (parsed === undefined) {
      parsed = IRREGULAR_SPACE.test(text) ? null : parseHead(text);
      this.heads.set(text, parsed);
    }
    return parsed;
  }

  /** The parsed tail, or null when its text has whitespace other than single spaces. */
  tail(text: string): Result<TailFields, string> | null {
    let parsed = this.tails.get(text);
    if (parsed === undefined) {
      parsed = IRREGULAR_SPACE.test(text) ? null : parseTail(text);
      this.tails.set(text, parsed);
    }
    return parsed;
  }
}
