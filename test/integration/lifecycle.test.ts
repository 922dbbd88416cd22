import { createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { ALICE, BOB, botEnv } from '../support/bots.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

let backend: RedisBackend;
let recorder: SlackRecorder;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let observer: Redis;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
  queue = await startNode(backend, {});
  observer = new Redis({ port: queue.port, host: '127.0.0.1' });
});
afterAll(async () => {
  observer?.disconnect();
  await recorder?.stop();
  await queue?.process.kill();
  await cluster?.stop();
  await backend?.stopAll();
});

/** Connections the queue Redis sees besides this test's own observer. */
const others = async (): Promise<number> =>
  String(await observer.call('CLIENT', 'LIST'))
    .trim()
    .split('\n').length - 1;

const config = (port: number) =>
  loadConfig(
    botEnv(cluster, recorder, queue.port, port, `life${Date.now()}`, { SLACK_APPROVERS: `${ALICE},${BOB}` }),
  );

describe('the bot closes every connection it opens', () => {
  it('leaves no queue Redis connection behind after stop()', async () => {
    const bot = await startSlotwatch(config(0), pino({ level: 'silent' }));
    const running = await others();

    await bot.stop();

    expect(running).toBeGreaterThan(3);
    await waitFor('every connection to close', async () => (await others()) === 0);
  });

  it('closes what it opened when start-up fails half way (the port is taken)', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', () => resolve()));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(startSlotwatch(config(port), pino({ level: 'silent' }))).rejects.toThrow(/EADDRINUSE/);
      await waitFor('every connection to close', async () => (await others()) === 0);
    } finally {
      taken.close();
    }
  });
});
