import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { ALICE, BOB, botEnv, click, finalState, requestRepair } from '../support/bots.js';
import { deleteSlotsEverywhere, waitUntilState } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';

let backend: RedisBackend;
let recorder: SlackRecorder;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let queueClient: Redis;
let bot: Running;
const prefix = `mr${Date.now()}`;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
  queue = await startNode(backend, {});
  queueClient = new Redis({ host: '127.0.0.1', port: queue.port });
  // One monitor tick at start, then none for an hour: after that only the doors used below probe.
  const env = botEnv(cluster, recorder, queue.port, 0, prefix, { MONITOR_INTERVAL: '1h' });
  bot = await startSlotwatch(loadConfig(env), pino({ level: 'silent' }));
});
afterAll(async () => {
  await bot?.stop();
  queueClient?.disconnect();
  await recorder?.stop();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

/** The value of one `prod` series of /metrics (`labels` without the cluster one), or undefined. */
async function metric(name: string, labels = ''): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
  const series = `${name}{cluster="prod"${labels}}`.replace(/[{}"]/g, (c) => `\\${c}`);
  return new RegExp(`^${series} (\\S+)$`, 'm').exec(text)?.[1];
}
const diagnoses = () => metric('slotwatch_probe_duration_seconds_count', ',outcome="ok"');

describe('metrics and repairs', () => {
  it("updates slotwatch_slots_uncovered from the repair's own look after it, with no other probe", async () => {
    await deleteSlotsEverywhere(cluster.nodes, 0, 99);
    await waitUntilState(cluster.nodes, 'fail');
    const id = await requestRepair(recorder, bot.port, queueClient, prefix, 'cover-unassigned');
    expect(await metric('slotwatch_slots_uncovered')).toBe('100');
    const before = await diagnoses();
    expect(Number(before)).toBeGreaterThan(0);

    await click(recorder, bot.port, 'approve_repair', id, ALICE);
    await click(recorder, bot.port, 'approve_repair', id, BOB);
    const done = await finalState(queueClient, prefix, id);

    expect(done.status).toBe('done');
    await waitUntilState(cluster.nodes, 'ok');
    // Nothing but the repair looked at the cluster since the listing...
    expect(await diagnoses()).toBe(before);
    // ...and its look after the repair is what /metrics shows.
    expect(await metric('slotwatch_slots_uncovered')).toBe('0');
  });
});
