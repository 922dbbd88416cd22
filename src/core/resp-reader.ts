/** An error reply from the node (`-ERR …`, `-MOVED …`); its message is the reply's text. */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
}

/** The node broke the protocol: the connection cannot be trusted any more. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

import { StringDecoder } from 'node:string_decoder';

const CR = 13;
const LF = 10;
/** No RESP2 line (type, length or status) is this long: a node sending one is not speaking RESP. */
const MAX_LINE = 1 << 20;
/** A bulk string at least this long is read as its chunks arrive, never joined and decoded in one go. */
const STREAMED_BULK = 256 * 1024;

/** A long bulk string being read: its text so far (or its parts, as Buffers), and what is still to come. */
interface PendingBulk {
  bodyLeft: number;
  crlfLeft: number;
  text: string;
  readonly decoder: StringDecoder | null;
  readonly parts: Buffer[];
}

interface Frame {
  readonly items: unknown[];
  remaining: number;
}

export interface ReaderEvents {
  /** Whether the next top-level reply should give bulk strings as Buffers. */
  readonly buffers: () => boolean;
  readonly reply: (value: unknown) => void;
}

/**
 * Reads RESP2 replies from a byte stream, resumably: array elements already read are kept, a bulk string
 * is joined only once all its bytes are there, and an unfinished line is looked at again only when a line
 * feed arrives, so a reply of n bytes costs O(n) whatever its chunking.
 */
export class RespReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before the next element can be complete. */
  private need = 0;
  private readonly stack: Frame[] = [];
  private buffersNow = false;
  private bulk: PendingBulk | null = null;

  constructor(private readonly events: ReaderEvents) {}

  push(received: Buffer): void {
    let chunk = received;
    if (this.bulk) {
      const used = this.feedBulk(chunk, 0);
      if (used === chunk.length) return;
      chunk = chunk.subarray(used);
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.need) return;
    if (this.need === 0 && this.chunks.length > 1 && chunk.indexOf(LF) < 0) return;
    const data = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    let offset = 0;
    this.need = 0;
    while (offset < data.length) {
      const end = this.element(data, offset);
      if (end < 0) break;
      offset = end;
    }
    const rest = data.subarray(offset);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }

  /** Reads one element at `at`; returns where it ends, or -1 when it is not complete yet. */
  private element(data: Buffer, at: number): number {
    const lineEnd = data.indexOf(CR, at);
    if (lineEnd < 0 || lineEnd + 1 >= data.length) {
      if (data.length - at > MAX_LINE) throw new ProtocolError('Protocol error: a reply line without end');
      return -1;
    }
    if (this.stack.length === 0) this.buffersNow = this.events.buffers();
    const next = lineEnd + 2;
    switch (data[at]) {
      case 43: // +
        this.deliver(
          this.buffersNow
            ? Buffer.from(data.subarray(at + 1, lineEnd))
            : data.toString('utf8', at + 1, lineEnd),
        );
        return next;
      case 45: // -
        this.deliver(new ReplyError(data.toString('utf8', at + 1, lineEnd)));
        return next;
      case 58: // :
        this.deliver(Number(data.toString('latin1', at + 1, lineEnd)));
        return next;
      case 36: {
        // $
        const length = count(data.toString('latin1', at + 1, lineEnd));
        if (length < 0) {
          this.deliver(null);
          return next;
        }
        if (next + length + 2 > data.length && length >= STREAMED_BULK) {
          // Decoded chunk by chunk as it arrives: a 16 MiB reply never holds the event loop in one piece.
          const buffers = this.buffersNow;
          this.bulk = {
            bodyLeft: length,
            crlfLeft: 2,
            text: '',
            decoder: buffers ? null : new StringDecoder('utf8'),
            parts: [],
          };
          return this.feedBulk(data, next);
        }
        if (next + length + 2 > data.length) {
          this.need = next + length + 2 - at;
          return -1;
        }
        const body = data.subarray(next, next + length);
        this.deliver(this.buffersNow ? Buffer.from(body) : body.toString('utf8'));
        return next + length + 2;
      }
      case 42: {
        // *
        const length = count(data.toString('latin1', at + 1, lineEnd));
        if (length <= 0) this.deliver(length < 0 ? null : []);
        else this.stack.push({ items: [], remaining: length });
        return next;
      }
      default:
        throw new ProtocolError(`Protocol error: unexpected reply type byte ${data[at]}`);
    }
  }

  /** Takes what belongs to the pending bulk string from `data` at `at`; returns where its use ends. */
  private feedBulk(data: Buffer, at: number): number {
    const bulk = this.bulk as PendingBulk;
    let offset = at;
    const body = Math.min(bulk.bodyLeft, data.length - offset);
    if (body > 0) {
      const part = data.subarray(offset, offset + body);
      if (bulk.decoder) bulk.text += bulk.decoder.write(part);
      else bulk.parts.push(part);
      bulk.bodyLeft -= body;
      offset += body;
    }
    const crlf = Math.min(bulk.crlfLeft, data.length - offset);
    bulk.crlfLeft -= crlf;
    offset += crlf;
    if (bulk.bodyLeft > 0 || bulk.crlfLeft > 0) return offset;
    this.bulk = null;
    this.deliver(bulk.decoder ? bulk.text + bulk.decoder.end() : Buffer.concat(bulk.parts));
    return offset;
  }

  private deliver(value: unknown): void {
    let done = value;
    for (;;) {
      const frame = this.stack.at(-1);
      if (!frame) {
        this.events.reply(done);
        return;
      }
      frame.items.push(done);
      if (--frame.remaining > 0) return;
      this.stack.pop();
      done = frame.items;
    }
  }
}

function count(text: string): number {
  const n = Number(text);
  if (text === '' || !Number.isInteger(n) || n < -1)
    throw new ProtocolError(`Protocol error: bad length "${text}"`);
  return n;
}
