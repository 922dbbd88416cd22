import { connect, createServer, type Server, type Socket } from 'node:net';

/** Forwards data between two sockets, each chunk `delayMs` late, in order. */
function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  from.on('data', (chunk) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

/** A TCP proxy on `listenPort` in front of `targetPort` that adds `delayMs` per hop, each way. */
export function startDelayProxy(listenPort: number, targetPort: number, delayMs: number): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    pipeDelayed(client, upstream, delayMs);
    pipeDelayed(upstream, client, delayMs);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve(server));
  });
}
