import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface DelayProxies {
  stop(): Promise<void>;
}

/**
 * Delaying proxies (`listenPort` → `targetPort`) in a child process of their own: the network's work must not
 * run on the event loop of the client being measured.
 */
export async function startDelayProxies(
  pairs: readonly (readonly [listenPort: number, targetPort: number])[],
  delayMs: number,
): Promise<DelayProxies> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('./delay-proxies-main.ts', import.meta.url).pathname,
      String(delayMs),
      ...pairs.map(([l, t]) => `${l}:${t}`),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  if (!chunk.toString().includes('ready')) throw new Error('delay proxies did not start');
  return {
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}
