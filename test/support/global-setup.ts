import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { buildDist } from './build.js';
import { SLOTWATCH_DOCKER_SOCKET } from './docker-engine.js';
import { docker, REDIS_IMAGE, TEST_LABEL } from './docker-images.js';
import { chooseBackend } from './redis-backend.js';

/** Chooses the Redis backend once, says which one runs, and hands the choice to every test file. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Test workers inherit it: the containers of this run carry it, and teardown removes what a crash left.
  process.env.SLOTWATCH_TEST_RUN = String(process.pid);
  buildDist();
  const backend = await chooseBackend();
  let version = 'unknown';
  if (backend.name === 'local redis-server') {
    try {
      version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      throw new Error(
        'redis-server is not installed: install it (apt-get install redis-server) or run with SLOTWATCH_TEST_BACKEND=docker',
      );
    }
  }
  const detail =
    backend.name === 'local redis-server'
      ? version
      : `image ${process.env.SLOTWATCH_TEST_IMAGE ?? REDIS_IMAGE}`;
  process.stdout.write(`\n[slotwatch tests] Redis backend: ${backend.name} (${detail})\n\n`);
  await backend.stopAll();
  project.provide('redisBackend', backend.name);
  return removeLeftoverContainers;
}

async function removeLeftoverContainers(): Promise<void> {
  if (!process.env.DOCKER_HOST && !existsSync(SLOTWATCH_DOCKER_SOCKET)) return;
  const host = process.env.DOCKER_HOST ? [] : ['--host', `unix://${SLOTWATCH_DOCKER_SOCKET}`];
  const filter = `label=${TEST_LABEL}=${process.env.SLOTWATCH_TEST_RUN}`;
  const ids = await docker([...host, 'ps', '--all', '--quiet', '--filter', filter]).catch(() => '');
  if (ids) await docker([...host, 'rm', '--force', ...ids.split('\n')]).catch(() => {});
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisBackend: 'local redis-server' | 'testcontainers';
  }
}
