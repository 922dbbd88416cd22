import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { useDockerEngine } from './docker-engine.js';
import { ensureRedisImage, REDIS_IMAGE, TEST_LABEL, testRun } from './docker-images.js';
import { waitFor } from './wait.js';

/** redis-server settings; an array repeats the directive (`rename-command`). */
export type RedisConfig = Readonly<Record<string, string | readonly string[]>>;

/** How the harness itself talks to a node. */
export interface ClientOptions {
  readonly password?: string | undefined;
  readonly tls?: ConnectionOptions | undefined;
}

/** One running redis-server, whatever runs it. */
export interface RedisProcess {
  readonly port: number;
  /** SIGKILL: gone, nothing saved. */
  kill(): Promise<void>;
  /** SIGSTOP: still accepts TCP connections, answers nothing. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export interface RedisBackend {
  readonly name: 'local redis-server' | 'testcontainers';
  start(port: number, config: RedisConfig, client?: ClientOptions): Promise<RedisProcess>;
  /** Stops everything it started, paused processes included. */
  stopAll(): Promise<void>;
}

async function waitUntilAnswering(port: number, { password, tls }: ClientOptions): Promise<void> {
  await waitFor(
    `redis-server on port ${port}`,
    async () => {
      const redis = new Redis({
        port,
        host: '127.0.0.1',
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        ...(password ? { password } : {}),
        ...(tls ? { tls } : {}),
      });
      redis.on('error', () => {});
      try {
        await redis.connect();
        return (await redis.ping()) === 'PONG';
      } finally {
        redis.disconnect();
      }
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

const toArgs = (config: RedisConfig): string[] =>
  Object.entries(config).flatMap(([key, value]) =>
    (typeof value === 'string' ? [value] : value).flatMap((v) => [
      `--${key}`,
      // redis-server quotes each argument: 'CONFIG ""' must arrive as two arguments, the second empty.
      ...v.split(' ').map((word) => (word === '""' ? '' : word)),
    ]),
  );

const passwordOf = (config: RedisConfig): string | undefined =>
  typeof config.requirepass === 'string' ? config.requirepass : undefined;

export function localBackend(): RedisBackend {
  const children = new Set<ChildProcess>();
  const dirs = new Set<string>();
  return {
    name: 'local redis-server',
    async start(port, config, client = { password: passwordOf(config) }) {
      const dir = await mkdtemp(join(tmpdir(), `slotwatch-${port}-`));
      dirs.add(dir);
      const child = spawn('redis-server', ['--port', String(port), '--dir', dir, ...toArgs(config)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.add(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.once('exit', () => children.delete(child));
      try {
        await Promise.race([
          waitUntilAnswering(port, client),
          exited.then(() => {
            throw new Error(`redis-server on ${port} exited at start: ${stderr.trim()}`);
          }),
        ]);
      } catch (error) {
        child.kill('SIGKILL');
        throw error;
      }
      const signal = async (name: NodeJS.Signals) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(name);
      };
      return {
        port,
        kill: async () => {
          await signal('SIGCONT');
          await signal('SIGKILL');
          await exited;
        },
        pause: () => signal('SIGSTOP'),
        resume: () => signal('SIGCONT'),
      };
    },
    async stopAll() {
      const waits = [...children].map((child) => {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        return gone;
      });
      await Promise.all(waits);
      await Promise.all([...dirs].map((dir) => rm(dir, { recursive: true, force: true })));
      dirs.clear();
    },
  };
}

/** redis-server in Docker, on the host network so that announced addresses are the same as locally. */
export async function containerBackend(
  image = process.env.SLOTWATCH_TEST_IMAGE ?? REDIS_IMAGE,
): Promise<RedisBackend> {
  await useDockerEngine();
  if (image === REDIS_IMAGE) await ensureRedisImage();
  const { GenericContainer, getContainerRuntimeClient } = await import('testcontainers');
  const runtime = await getContainerRuntimeClient();
  const started: { stop: (options: { remove: boolean }) => Promise<unknown>; getId: () => string }[] = [];
  return {
    name: 'testcontainers',
    async start(port, config, client = { password: passwordOf(config) }) {
      const container = await new GenericContainer(image)
        .withNetworkMode('host')
        .withLabels({ [TEST_LABEL]: testRun() })
        .withCommand(['redis-server', '--port', String(port), ...toArgs(config)])
        .start();
      started.push(container);
      await waitUntilAnswering(port, client);
      const docker = runtime.container.dockerode.getContainer(container.getId());
      return {
        port,
        kill: async () => {
          await docker.unpause().catch(() => {});
          await docker.kill().catch(() => {});
          await docker.wait();
        },
        pause: async () => {
          await docker.pause();
        },
        resume: async () => {
          await docker.unpause();
        },
      };
    },
    async stopAll() {
      await Promise.all(
        started.map(async (c) => {
          await runtime.container.dockerode
            .getContainer(c.getId())
            .unpause()
            .catch(() => {});
          await c.stop({ remove: true }).catch(() => {});
        }),
      );
      started.length = 0;
    },
  };
}

/**
 * Local redis-server, or testcontainers with SLOTWATCH_TEST_BACKEND=docker. An engine that merely answers does
 * not switch the whole suite to containers: the docker tests use containerBackend themselves.
 */
export async function chooseBackend(): Promise<RedisBackend> {
  return process.env.SLOTWATCH_TEST_BACKEND === 'docker' ? containerBackend() : localBackend();
}
