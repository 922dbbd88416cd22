import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RequestStore } from '../../src/jobs/requests.js';
import { testBackend } from '../support/backend.js';
import {
  ALICE,
  auditOf,
  BOB,
  botEnv,
  CAROL,
  click,
  finalState,
  requestDoc,
  requestRepair,
  SECRET,
  type SpawnedBot,
  spawnBot,
  stopBot,
} from '../support/bots.js';
import { startCluster, startNode, type TestCluster, type TestNode } from '../support/cluster.js';
import { checkData, type Written } from '../support/data.js';
import { freePort } from '../support/free-port.js';
import { loseFirstMasterWithData } from '../support/lost-master.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { expectHealthy } from '../support/repair.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { buttonClickBody, postToSlack } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

// The fault matrix of an approved repair: whatever dies, and wherever, the request ends in a true final state,
// the cluster is healed (or untouched, when nothing may run), every key outside the lost slots reads back, and
// no bot crashes or logs an unhandled rejection.

let backend: RedisBackend;
let recorder: SlackRecorder;
const bots: SpawnedBot[] = [];
let cluster: TestCluster | undefined;
let queue: { port: number; process: RedisProcess; dir: string } | undefined;
let queueClient: Redis | undefined;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
});
afterEach(async () => {
  for (const bot of bots.splice(0)) await stopBot(bot, 'SIGKILL');
  queueClient?.disconnect();
  await queue?.process.kill();
  await cluster?.stop();
  cluster = undefined;
  queue = undefined;
});
afterAll(async () => {
  await recorder?.stop();
  await backend?.stopAll();
});

/** A queue Redis that survives SIGKILL: AOF, fsync on every write, a directory it can be restarted from. */
async function startQueue(port?: number, dir?: string) {
  const where = dir ?? (await mkdtemp(join(tmpdir(), 'slotwatch-queue-')));
  const config = { appendonly: 'yes', appendfsync: 'always', dir: where };
  const started = port
    ? { port, process: await backend.start(port, { bind: '127.0.0.1', save: '', ...config }) }
    : await startNode(backend, config);
  return { port: started.port, process: started.process, dir: where };
}

interface Scene {
  readonly cluster: TestCluster;
  readonly alive: TestNode[];
  readonly written: Written[];
  readonly lost: Set<number>;
  readonly queue: Redis;
  readonly prefix: string;
  bot(extra?: Record<string, string>): Promise<SpawnedBot>;
}

/** A cluster holding data whose first master and its replica died, a queue Redis, and a way to start bots. */
async function brokenScene(): Promise<Scene> {
  cluster = await startCluster(backend);
  const { alive, written, lost } = await loseFirstMasterWithData(cluster);
  queue = await startQueue();
  queueClient = new Redis({ port: queue.port, host: '127.0.0.1', retryStrategy: () => 200 });
  queueClient.on('error', () => {});
  const prefix = `f${Date.now()}`;
  const scene: Scene = {
    cluster,
    alive,
    written,
    lost,
    queue: queueClient,
    prefix,
    bot: async (extra = {}) => {
      const bot = await spawnBot(
        botEnv(cluster as TestCluster, recorder, queue?.port ?? 0, await freePort(), prefix, extra),
      );
      bots.push(bot);
      return bot;
    },
  };
  return scene;
}

/** Carol requests the take-over through `bot`; Alice and Bob approve it there. */
async function approvedTakeOver(scene: Scene, bot: SpawnedBot): Promise<string> {
  const id = await requestRepair(recorder, bot.port, scene.queue, scene.prefix, 'take-over');
  await click(recorder, bot.port, 'approve_repair', id, ALICE);
  await click(recorder, bot.port, 'approve_repair', id, BOB);
  return id;
}

/** The end every fault must reach: done, healed, every key outside the lost slots intact, no bug logged. */
async function expectConverged(scene: Scene, id: string, survivors: readonly SpawnedBot[]): Promise<void> {
  const end = await finalState(scene.queue, scene.prefix, id);
  expect(end).toMatchObject({ status: 'done', step: null });
  await expectHealthy(scene.alive);
  const data = await checkData(scene.cluster, scene.written, scene.lost);
  expect(data).toMatchObject({ wrong: [], survivedLoss: [] });
  expect(data.intact).toBe(scene.written.length - data.lost);
  for (const bot of survivors) {
    expect(bot.child.exitCode).toBeNull();
    expect(bot.output()).not.toContain('unhandled rejection');
  }
}

describe('a worker killed inside a step of a take-over', () => {
  // 6 steps in two waves: forget the master and its replica (1-2), then two ADDSLOTSRANGE and two BUMPEPOCH
  // at once (3-6). Killed while a wave acts: started, none of it finished.
  type Doc = Awaited<ReturnType<typeof requestDoc>>;
  it.each<[string, (doc: Doc) => boolean]>([
    ['the first wave (forget)', (doc) => doc.step !== null && doc.finished.length === 0],
    ['the last wave (claim the slots)', (doc) => (doc.step ?? 0) >= 3 && !doc.finished.includes(3)],
  ])('is taken over and finished by another worker when killed inside %s', async (_, inside) => {
    const scene = await brokenScene();
    const first = await scene.bot();
    const id = await approvedTakeOver(scene, first);

    await waitFor('the wave to start', async () => inside(await requestDoc(scene.queue, scene.prefix, id)), {
      timeoutMs: 30_000,
      intervalMs: 2,
    });
    first.child.kill('SIGKILL');
    await first.exit;
    const atKill = await requestDoc(scene.queue, scene.prefix, id);
    const second = await scene.bot();

    expect(atKill.status).toBe('running');
    expect(inside(atKill)).toBe(true);
    await expectConverged(scene, id, [second]);
    const audit = await auditOf(scene.queue, scene.prefix, id);
    expect(audit.filter((e) => e.event === 'started').map((e) => e.detail)).toEqual([
      expect.stringMatching(/^take-over-/),
      'resumed after a worker stopped answering',
    ]);
    expect(audit.at(-1)?.event).toBe('finished');
  });
});

describe('a running request whose job is gone', () => {
  it('gets a job again from the reconciler and is finished when its worker died and the job was removed', async () => {
    const scene = await brokenScene();
    const first = await scene.bot();
    const id = await approvedTakeOver(scene, first);
    await waitFor(
      'step 2 to start',
      async () => ((await requestDoc(scene.queue, scene.prefix, id)).step ?? 0) >= 2,
      {
        timeoutMs: 30_000,
        intervalMs: 2,
      },
    );
    first.child.kill('SIGKILL');
    await first.exit;
    const connection = new Redis({ port: queue?.port ?? 0, host: '127.0.0.1', maxRetriesPerRequest: null });
    const jobs = new Queue('repairs', { connection, prefix: `${scene.prefix}:bull` });
    try {
      // Someone clears the job (or BullMQ gave up on it) once its lock is gone: only the request remains.
      await waitFor('the job to be removable', async () => (await jobs.remove(id)) === 1, {
        timeoutMs: 20_000,
      });
      expect(await jobs.getJob(id)).toBeUndefined();

      const second = await scene.bot();

      await expectConverged(scene, id, [second]);
    } finally {
      await jobs.close();
      connection.disconnect();
    }
  });
});

describe('the queue Redis killed inside a step', () => {
  it('pauses the repair at the step boundary, keeps the bot up and finishes once it is back', async () => {
    const scene = await brokenScene();
    const bot = await scene.bot();
    const id = await approvedTakeOver(scene, bot);
    await waitFor(
      'the claim wave (steps 3-6) to start',
      async () => {
        const doc = await requestDoc(scene.queue, scene.prefix, id);
        return (doc.step ?? 0) >= 3 && !doc.finished.includes(3);
      },
      {
        timeoutMs: 30_000,
        intervalMs: 2,
      },
    );

    const where = queue as NonNullable<typeof queue>;
    await where.process.kill();
    await waitFor('the bot to notice', async () => {
      const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
      return ((await ready.json()) as { status: string }).status === 'degraded';
    });
    await waitFor('the repair to wait at the boundary', () =>
      recorder.requests.some((r) => JSON.stringify(r.body).includes('The queue Redis does not answer')),
    );
    const health = await fetch(`http://127.0.0.1:${bot.port}/healthz`);
    queue = await startQueue(where.port, where.dir);

    expect(health.ok).toBe(true);
    await expectConverged(scene, id, [bot]);
    expect(recorder.requests.some((r) => JSON.stringify(r.body).includes('The queue Redis is back'))).toBe(
      true,
    );
  });
});

describe('approved requests never vanish', () => {
  it('enqueues a request whose deciding vote was recorded by a bot that died before enqueueing it', async () => {
    const scene = await brokenScene();
    const first = await scene.bot();
    const id = await requestRepair(recorder, first.port, scene.queue, scene.prefix, 'take-over');
    await click(recorder, first.port, 'approve_repair', id, ALICE);
    await waitFor(
      'the first approval',
      async () => (await requestDoc(scene.queue, scene.prefix, id)).version >= 3,
    );
    first.child.kill('SIGKILL');
    await first.exit;
    // The deciding vote lands (the same script the bot runs); the process that cast it dies before queue.add.
    const vote = await new RequestStore(scene.queue, scene.prefix).vote(id, BOB, 'approve', Date.now());
    const orphaned = {
      outbox: await scene.queue.sismember(`${scene.prefix}:enqueue`, id),
      job: await scene.queue.exists(`${scene.prefix}:bull:repairs:${id}`),
    };

    const second = await scene.bot();

    expect(vote.result).toBe('quorum');
    expect(orphaned).toEqual({ outbox: 1, job: 0 });
    await expectConverged(scene, id, [second]);
    const late = await click(recorder, second.port, 'cancel_repair', id, ALICE);
    expect(((await recorder.nextResponse(late)).body as { text: string }).text).toContain(
      'not queued or running',
    );
    expect((await requestDoc(scene.queue, scene.prefix, id)).status).toBe('done');
  });

  it('cancels a request while it is queued: no step ever runs, not even when a worker takes the job later', async () => {
    const scene = await brokenScene();
    const clicks = await scene.bot({ REPAIR_WORKERS: '0' });
    const id = await approvedTakeOver(scene, clicks);
    await waitFor(
      'the request to be queued',
      async () => (await requestDoc(scene.queue, scene.prefix, id)).status === 'queued',
    );

    const cancel = await click(recorder, clicks.port, 'cancel_repair', id, ALICE);
    const answer = ((await recorder.nextResponse(cancel)).body as { text: string }).text;
    const worker = await scene.bot();
    await waitFor('the worker to take the job and drop it', async () => {
      const state = await scene.queue.hget(`${scene.prefix}:bull:repairs:${id}`, 'finishedOn');
      return state !== null;
    });

    expect(answer).toContain('no step ran');
    expect(await requestDoc(scene.queue, scene.prefix, id)).toMatchObject({
      status: 'cancelled',
      finished: [],
      step: null,
    });
    const events = (await auditOf(scene.queue, scene.prefix, id)).map((e) => e.event);
    expect(events).toContain('cancelled');
    expect(events).not.toContain('started');
    expect(events).not.toContain('step');
    // Untouched: the dead master is still listed and its slots still uncovered.
    const nodes = String(await (scene.alive[0] as TestNode).redis.call('CLUSTER', 'NODES'));
    expect(nodes).toContain((scene.cluster.masters[0] as TestNode).id);
    expect(worker.output()).not.toContain('unhandled rejection');
  });

  it('expires a pending request on time with nobody clicking, and its buttons stop working', async () => {
    const scene = await brokenScene();
    const bot = await scene.bot({ APPROVAL_TTL: '2s' });
    const id = await requestRepair(recorder, bot.port, scene.queue, scene.prefix, 'take-over');

    const expired = await waitFor(
      'the request to expire',
      async () => {
        const doc = await requestDoc(scene.queue, scene.prefix, id);
        return doc.status === 'expired' && doc;
      },
      { timeoutMs: 15_000 },
    );
    const late = await click(recorder, bot.port, 'approve_repair', id, ALICE);

    expect(expired.status).toBe('expired');
    expect(await auditOf(scene.queue, scene.prefix, id)).toContainEqual({
      event: 'expired',
      user: 'slotwatch',
      detail: 'approval window over',
    });
    expect(((await recorder.nextResponse(late)).body as { text: string }).text).toContain('expired');
    const updates = recorder.requests.filter(
      (r) =>
        r.path.endsWith('chat.update') &&
        JSON.stringify(r.body).includes(id) &&
        JSON.stringify(r.body).includes('xpired'),
    );
    expect(updates.length).toBeGreaterThan(0);
  });
});

describe('several bot replicas on one queue Redis', () => {
  it('takes votes and runs the job exactly once across three replicas clicking at once', async () => {
    const scene = await brokenScene();
    const replicas = [await scene.bot(), await scene.bot(), await scene.bot()];
    const [one, two, three] = replicas as [SpawnedBot, SpawnedBot, SpawnedBot];
    const id = await requestRepair(recorder, one.port, scene.queue, scene.prefix, 'take-over');

    await Promise.all([
      click(recorder, two.port, 'approve_repair', id, ALICE),
      click(recorder, three.port, 'approve_repair', id, BOB),
      click(recorder, one.port, 'approve_repair', id, CAROL),
      click(recorder, three.port, 'approve_repair', id, ALICE),
      click(recorder, one.port, 'approve_repair', id, BOB),
    ]);

    await expectConverged(scene, id, replicas);
    const audit = await auditOf(scene.queue, scene.prefix, id);
    expect(audit.filter((e) => e.event === 'queued')).toHaveLength(1);
    expect(audit.filter((e) => e.event === 'started')).toHaveLength(1);
    // Which refusal each extra click gets depends on its order (before or after the deciding vote); that each
    // one is refused, recorded, and changes nothing does not.
    const refused = audit.filter((e) => e.event === 'refused');
    expect(refused.map((e) => e.user).sort()).toEqual([ALICE, BOB, CAROL].sort());
    for (const e of refused) expect(e.detail).toMatch(/^approve: (self|twice|not-pending)$/);
    expect(
      audit
        .filter((e) => e.event === 'approved')
        .map((e) => e.user)
        .sort(),
    ).toEqual([ALICE, BOB].sort());
  });

  it('counts a signed click replayed three times once, and records the replays', async () => {
    const scene = await brokenScene();
    const bot = await scene.bot();
    const id = await requestRepair(recorder, bot.port, scene.queue, scene.prefix, 'take-over');
    const body = buttonClickBody({
      actionId: 'approve_repair',
      value: id,
      user: ALICE,
      responseUrl: recorder.responseUrl('replayed'),
    });

    // The same signed body three times, as an attacker holding a capture would send it (signed again each time).
    for (let i = 0; i < 3; i++)
      expect((await postToSlack(bot.port, body, { secret: SECRET })).status).toBe(200);
    await waitFor('the replays to be answered', () => recorder.responses('replayed').length >= 2);
    await waitFor('the approval', async () => {
      const audit = await auditOf(scene.queue, scene.prefix, id);
      return audit.filter((e) => e.event !== 'requested').length >= 3;
    });

    const audit = await auditOf(scene.queue, scene.prefix, id);
    expect(audit.filter((e) => e.event === 'approved').map((e) => e.user)).toEqual([ALICE]);
    expect(audit.filter((e) => e.event === 'refused').map((e) => `${e.user} ${e.detail}`)).toEqual([
      `${ALICE} approve_repair: replayed click`,
      `${ALICE} approve_repair: replayed click`,
    ]);
    expect((await requestDoc(scene.queue, scene.prefix, id)).status).toBe('pending');
  });
});
