import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { chooseBackend } from './redis-backend.js';

/** Chooses the Redis backend once, says which one runs, and hands the choice to every test file. */
export async function setup(project: TestProject): Promise<void> {
  const backend = await chooseBackend();
  let version = 'unknown';
  if (backend.name === 'local redis-server') {
    try {
      version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      throw new Error(
        'redis-server is not installed: install it (apt-get install redis-server) or start a Docker engine',
      );
    }
  }
  process.stdout.write(
    `\n[slotwatch tests] Redis backend: ${backend.name}${backend.name === 'local redis-server' ? ` (${version})` : ''}\n\n`,
  );
  await backend.stopAll();
  project.provide('redisBackend', backend.name);
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisBackend: 'local redis-server' | 'testcontainers';
  }
}
