import type { ConnectionOptions } from 'node:tls';
import { ReplyMeter } from './reply-meter.js';
import { RespConnection } from './resp-connection.js';

export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
}

export interface ConnectOptions extends Credentials {
  /** Each command (and the TCP connect) gives up after this long. */
  readonly timeoutMs: number;
  readonly tls?: ConnectionOptions;
  /**
   * Bytes a node may send for one request (a call or a pipeline); past it the connection is dropped at once
   * and the request fails with a ReplyLimitError.
   * @defaultValue 16 MiB (16777216)
   */
  readonly maxReplyBytes?: number;
}

export type NodeErrorCode = 'refused' | 'timeout' | 'auth' | 'dns' | 'loading' | 'closed' | 'limit' | 'error';

/** A node sent more than maxReplyBytes for one request; its connection was dropped. */
export class ReplyLimitError extends Error {
  override readonly name = 'ReplyLimitError';
  readonly code = 'limit';

  constructor(readonly maxBytes: number) {
    super(`sent more than ${maxBytes} bytes for one request (the reply byte limit); connection dropped`);
  }
}

export interface NodeError {
  readonly code: NodeErrorCode;
  readonly message: string;
}

/** What the core sends to one node: raw commands, one at a time or pipelined. */
export interface NodeClient {
  readonly address: string;
  call(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
  /**
   * Results in order; a failed command yields an Error in its place. `buffers`: replies as Buffers (key names
   * are bytes, not text).
   */
  pipeline(
    commands: readonly (readonly (string | number | Buffer)[])[],
    options?: { buffers?: boolean },
  ): Promise<unknown[]>;
  close(): void;
}

export function classifyError(error: unknown): NodeError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | null)?.code;
  if (error instanceof ReplyLimitError) return { code: 'limit', message };
  if (code === 'ECONNREFUSED') return { code: 'refused', message: 'connection refused' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return { code: 'dns', message: `host not found (${message})` };
  if (/timed? ?out|ETIMEDOUT/i.test(message))
    return { code: 'timeout', message: 'no answer before the deadline' };
  if (
    /WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH <password> called without/i.test(
      message,
    )
  ) {
    return { code: 'auth', message: message.replace(/^(WRONGPASS|NOAUTH)\s*/, '') };
  }
  if (/^LOADING/.test(message)) return { code: 'loading', message };
  if (/Connection is closed|ECONNRESET|EPIPE|Stream isn't writeable/i.test(message)) {
    return { code: 'closed', message: 'connection closed by the node' };
  }
  return { code: 'error', message };
}

export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return {
    host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(address.slice(colon + 1)),
  };
}

/**
 * Opens a probe connection: a plain RESP2 socket with no retries and no offline queue, a deadline on the
 * connect and on every request, and an immediate close. A stopped node still accepts TCP connections, so
 * only these deadlines keep a probe from hanging.
 */
export async function connectNode(
  address: string,
  options: ConnectOptions,
): Promise<{ ok: true; value: NodeClient } | { ok: false; error: NodeError }> {
  const { host, port } = splitAddress(address);
  let connection: RespConnection | undefined;
  const meter = new ReplyMeter(options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES, () => {
    // Drop the socket before the reader buffers the rest of a huge reply.
    connection?.close();
  });
  try {
    connection = await RespConnection.open({
      host,
      port,
      timeoutMs: options.timeoutMs,
      ...(options.tls ? { tls: options.tls } : {}),
      onData: (bytes) => meter.count(bytes),
    });
    if (options.password !== undefined) {
      const args = options.username ? [options.username, options.password] : [options.password];
      const [reply] = await connection.send([['AUTH', ...args]]);
      if (reply instanceof Error && !/without any password configured/.test(reply.message)) throw reply;
    }
  } catch (error) {
    connection?.close();
    return { ok: false, error: classifyError(meter.exceeded ? new ReplyLimitError(meter.maxBytes) : error) };
  }
  const open = connection;
  const metered = async <T>(request: () => Promise<T>): Promise<T> => {
    const token = meter.begin();
    try {
      const value = await request();
      if (meter.exceeded) throw new ReplyLimitError(meter.maxBytes);
      return value;
    } catch (error) {
      throw meter.exceeded ? new ReplyLimitError(meter.maxBytes) : error;
    } finally {
      meter.end(token);
    }
  };
  return {
    ok: true,
    value: {
      address,
      call: (command, ...args) =>
        metered(async () => {
          const [reply] = await open.send([[command, ...args]]);
          if (reply instanceof Error) throw reply;
          return reply;
        }),
      pipeline: (commands, { buffers = false } = {}) => metered(() => open.send(commands, buffers)),
      close: () => open.close(),
    },
  };
}
