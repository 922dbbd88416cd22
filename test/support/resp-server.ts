import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from './free-port.js';

/** What the node answers to CLUSTER NODES. */
export type NodesReply =
  | { readonly kind: 'valid' }
  | { readonly kind: 'text'; readonly text: string }
  /** `count` valid-looking lines: the node itself, then masters on distinct loopback addresses. */
  | { readonly kind: 'lines'; readonly count: number }
  /** A bulk string of `bytes` bytes, streamed in chunks as fast as the client reads. */
  | { readonly kind: 'stream'; readonly bytes: number }
  | { readonly kind: 'integer'; readonly value: number }
  | { readonly kind: 'error'; readonly message: string };

export interface RespServerOptions {
  /** @defaultValue a valid single-node cluster owning every slot */
  readonly clusterNodes?: NodesReply;
  readonly clusterInfo?: string;
  readonly info?: string;
  /** @defaultValue a free loopback port */
  readonly port?: number;
}

export interface RespServerStats {
  connections: number;
  /** Bytes handed to the sockets (at most one chunk beyond what the kernel took). */
  bytesSent: number;
}

export interface RespServer {
  readonly port: number;
  readonly address: string;
  readonly id: string;
  readonly stats: RespServerStats;
  close(): Promise<void>;
}

const CRLF = '\r\n';
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const simple = (text: string) => Buffer.from(`+${text}${CRLF}`);
const error = (text: string) => Buffer.from(`-${text}${CRLF}`);
const integer = (n: number) => Buffer.from(`:${n}${CRLF}`);
const bulk = (text: string) => {
  const body = Buffer.from(text);
  return Buffer.concat([Buffer.from(`$${body.length}${CRLF}`), body, Buffer.from(CRLF)]);
};
const array = (items: readonly string[]) =>
  Buffer.concat([Buffer.from(`*${items.length}${CRLF}`), ...items.map(bulk)]);

export const hostileId = (n: number): string => `${n.toString(16).padStart(8, '0')}${'e'.repeat(32)}`;

/** Parses one RESP array of bulk strings from the front of `input`; null until it is complete. */
function parseCommand(input: Buffer): { args: string[]; consumed: number } | null {
  const lineEnd = (from: number) => {
    const at = input.indexOf(CRLF, from);
    return at < 0 ? null : at;
  };
  const head = lineEnd(0);
  if (head === null) return null;
  if (input[0] !== 0x2a) return { args: input.subarray(0, head).toString().split(/\s+/), consumed: head + 2 };
  const count = Number(input.subarray(1, head).toString());
  const args: string[] = [];
  let offset = head + 2;
  for (let i = 0; i < count; i++) {
    const end = lineEnd(offset);
    if (end === null) return null;
    const length = Number(input.subarray(offset + 1, end).toString());
    if (input.length < end + 2 + length + 2) return null;
    args.push(input.subarray(end + 2, end + 2 + length).toString());
    offset = end + 2 + length + 2;
  }
  return { args, consumed: offset };
}

function nodesLines(port: number, count: number): string {
  const lines = [`${hostileId(0)} 127.0.0.1:${port}@${port + 10000} myself,master - 0 0 1 connected 0-16383`];
  for (let i = 1; i < count; i++) {
    const host = `127.${1 + ((i >> 16) & 255)}.${(i >> 8) & 255}.${i & 255}`;
    lines.push(`${hostileId(i)} ${host}:7@10007 master - 0 0 ${i + 1} connected`);
  }
  return `${lines.join('\n')}\n`;
}

const clusterInfoText = (knownNodes: number) =>
  [
    'cluster_state:ok',
    'cluster_slots_assigned:16384',
    'cluster_slots_ok:16384',
    'cluster_slots_pfail:0',
    'cluster_slots_fail:0',
    `cluster_known_nodes:${knownNodes}`,
    'cluster_size:1',
    'cluster_current_epoch:1',
    'cluster_my_epoch:1',
    '',
  ].join(CRLF);

const infoText = (port: number) =>
  [
    '# Server',
    'redis_version:7.0.15',
    'redis_mode:cluster',
    `tcp_port:${port}`,
    '# Replication',
    'role:master',
    'connected_slaves:0',
    'master_repl_offset:0',
    '# Cluster',
    'cluster_enabled:1',
    '# Keyspace',
    '',
  ].join(CRLF);

const CONFIG: Record<string, string> = {
  'cluster-require-full-coverage': 'yes',
  'cluster-allow-reads-when-down': 'no',
  'cluster-node-timeout': '15000',
};

/**
 * A tiny RESP node on a free loopback port that answers what the probe asks, with configurable (hostile)
 * replies. Test helper only.
 */
export async function startRespServer(options: RespServerOptions = {}): Promise<RespServer> {
  const port = options.port ?? (await freePort());
  const stats: RespServerStats = { connections: 0, bytesSent: 0 };
  const nodes = options.clusterNodes ?? { kind: 'valid' };
  const nodesBody =
    nodes.kind === 'valid'
      ? bulk(nodesLines(port, 1))
      : nodes.kind === 'lines'
        ? bulk(nodesLines(port, nodes.count))
        : nodes.kind === 'text'
          ? bulk(nodes.text)
          : nodes.kind === 'integer'
            ? integer(nodes.value)
            : nodes.kind === 'error'
              ? error(nodes.message)
              : null;
  const knownNodes = nodes.kind === 'lines' ? nodes.count : 1;
  const sockets = new Set<Socket>();

  const answer = (args: string[]): Buffer | 'stream' => {
    const [command = '', sub = ''] = args.map((a) => a.toUpperCase());
    if (command === 'CLUSTER' && sub === 'NODES') return nodesBody ?? 'stream';
    if (command === 'CLUSTER' && sub === 'INFO')
      return bulk(options.clusterInfo ?? clusterInfoText(knownNodes));
    if (command === 'CLUSTER' && sub === 'MYID') return bulk(hostileId(0));
    if (command === 'CLUSTER' && sub === 'COUNTKEYSINSLOT') return integer(0);
    if (command === 'INFO') return bulk(options.info ?? infoText(port));
    if (command === 'CONFIG' && sub === 'GET')
      return array(args.slice(2).flatMap((key) => (key in CONFIG ? [key, CONFIG[key] ?? ''] : [])));
    if (command === 'PING') return simple('PONG');
    if (command === 'AUTH' || command === 'SELECT' || command === 'CLIENT') return simple('OK');
    if (command === 'DBSIZE') return integer(0);
    if (command === 'EVAL_RO' || command === 'EVAL') return array([]);
    return error(`ERR unknown command '${args[0] ?? ''}'`);
  };

  const serve = (socket: Socket) => {
    stats.connections++;
    sockets.add(socket);
    // A client that hangs up mid-stream is what the tests provoke: nothing to report.
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let input = Buffer.alloc(0);
    let streaming = false;
    const send = (data: Buffer) => {
      stats.bytesSent += data.length;
      return socket.write(data);
    };
    const stream = (bytes: number, done: () => void) => {
      let left = bytes;
      const pump = () => {
        while (left > 0 && !socket.destroyed) {
          const n = Math.min(left, CHUNK.length);
          left -= n;
          if (!send(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
            socket.once('drain', pump);
            return;
          }
        }
        if (socket.destroyed) return;
        send(Buffer.from(CRLF));
        done();
      };
      send(Buffer.from(`$${bytes}${CRLF}`));
      pump();
    };
    const work = () => {
      while (!streaming && !socket.destroyed) {
        const parsed = parseCommand(input);
        if (!parsed) return;
        input = input.subarray(parsed.consumed);
        const reply = answer(parsed.args);
        if (reply !== 'stream') {
          send(reply);
          continue;
        }
        streaming = true;
        stream(nodes.kind === 'stream' ? nodes.bytes : 0, () => {
          streaming = false;
          work();
        });
      }
    };
    socket.on('data', (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      work();
    });
  };

  const server: Server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    id: hostileId(0),
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
