import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { ProtocolError, RespReader } from './resp-reader.js';

export type Arg = string | number | Buffer;

interface Request {
  readonly expected: number;
  readonly buffers: boolean;
  readonly replies: unknown[];
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve(replies: unknown[]): void;
  reject(error: Error): void;
}

export interface RespConnectOptions {
  readonly host: string;
  readonly port: number;
  /** The TCP (and TLS) connect, and then each request, fail after this long. */
  readonly timeoutMs: number;
  readonly tls?: ConnectionOptions;
  /** Sees every chunk the node sends before it is read (reply byte limits). */
  readonly onData?: (bytes: number) => void;
}

const closedError = () => new Error('Connection is closed.');

/** One command as RESP: an array of bulk strings. */
function encode(command: readonly Arg[], parts: (string | Buffer)[]): void {
  parts.push(`*${command.length}\r\n`);
  for (const arg of command) {
    if (Buffer.isBuffer(arg)) parts.push(`$${arg.length}\r\n`, arg, '\r\n');
    else {
      const text = String(arg);
      parts.push(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
    }
  }
}

function toWire(commands: readonly (readonly Arg[])[]): string | Buffer {
  const parts: (string | Buffer)[] = [];
  for (const command of commands) encode(command, parts);
  if (parts.every((p) => typeof p === 'string')) return parts.join('');
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

/**
 * A plain RESP2 connection to one node: requests are pipelined in order, each answered by as many replies
 * as it sent commands. No retries, no reconnects, no offline queue: the probe decides what a failure means.
 */
export class RespConnection {
  private readonly queue: Request[] = [];
  private readonly reader: RespReader;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
    onData: ((bytes: number) => void) | undefined,
  ) {
    this.reader = new RespReader({
      buffers: () => this.queue[0]?.buffers ?? false,
      reply: (value) => this.answer(value),
    });
    socket.on('data', (chunk: Buffer) => {
      onData?.(chunk.length);
      if (this.closed) return;
      try {
        this.reader.push(chunk);
      } catch (error) {
        this.fail(error instanceof Error ? error : new ProtocolError(String(error)));
      }
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(null));
  }

  /** Connects (TLS when asked); rejects with the socket's error (ECONNREFUSED, ENOTFOUND…) or a timeout. */
  static open(options: RespConnectOptions): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const { host, port, tls, timeoutMs } = options;
      const socket = tls
        ? tlsConnect({ host, port, ...tls })
        : netConnect({ host, port, family: 4, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('connect timed out'));
      }, timeoutMs);
      const onError = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once('error', onError);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new RespConnection(socket, timeoutMs, options.onData));
      });
    });
  }

  /** Sends the commands in one write; resolves with one reply per command (error replies as Errors). */
  send(commands: readonly (readonly Arg[])[], buffers = false): Promise<unknown[]> {
    if (commands.length === 0) return Promise.resolve([]);
    if (this.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      const request: Request = {
        expected: commands.length,
        buffers,
        replies: [],
        settled: false,
        timer: undefined,
        resolve,
        reject,
      };
      // A request that timed out stays queued: its replies may still come and must be skipped.
      request.timer = setTimeout(() => this.settle(request, new Error('Command timed out')), this.timeoutMs);
      this.queue.push(request);
      this.socket.write(toWire(commands));
    });
  }

  close(): void {
    this.socket.destroy();
    this.fail(null);
  }

  private answer(value: unknown): void {
    const request = this.queue[0];
    if (!request) {
      this.fail(new ProtocolError('Protocol error: a reply nobody asked for'));
      return;
    }
    request.replies.push(value);
    if (request.replies.length < request.expected) return;
    this.queue.shift();
    this.settle(request, null);
  }

  private settle(request: Request, error: Error | null): void {
    clearTimeout(request.timer);
    if (request.settled) return;
    request.settled = true;
    if (error) request.reject(error);
    else request.resolve(request.replies);
  }

  /** Ends the connection; requests still waiting fail with `error` (null: "Connection is closed."). */
  private fail(error: Error | null): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
    }
    if (this.queue.length === 0) return;
    // Made only when someone waits: an Error captures a stack trace, and every probe closes every connection.
    const reason = error ?? closedError();
    for (const request of this.queue.splice(0)) this.settle(request, reason);
  }
}
