/** An error reply from the node (`-ERR …`, `-MOVED …`); its message is the reply's text. */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
}

/** The node broke the protocol: the connection cannot be trusted any more. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

const CR = 13;
const LF = 10;
/** No RESP2 line (type, length or status) is this long: a node sending one is not speaking RESP. */
const MAX_LINE = 1 << 20;

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

  constructor(private readonly events: ReaderEvents) {}

  push(chunk: Buffer): void {
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
