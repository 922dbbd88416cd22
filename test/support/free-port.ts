import { createServer } from 'node:net';

const taken = new Set<number>();

function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/** A loopback port nobody listens on, never handed out twice by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(candidate)) continue;
    if ((await tryListen(candidate)) === candidate) {
      taken.add(candidate);
      return candidate;
    }
  }
  throw new Error('no free loopback port found');
}
