import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../support/backend.js';
import {
  ALICE,
  auditOf,
  BOB,
  botEnv,
  click,
  finalState,
  requestDoc,
  requestRepair,
  type SpawnedBot,
  spawnBot,
  stopBot,
} from '../support/bots.js';
import { startCluster, type TestCluster, type TestNode } from '../support/cluster.js';
import { checkData, type Written } from '../support/data.js';
import { freePort } from '../support/free-port.js';
import { loseFirstMasterWithData } from '../support/lost-master.js';
import type { RedisBackend } from '../support/redis-backend.js';
import { expectHealthy } from '../support/repair.js';
import { type ReplicatedQueue, startReplicatedQueue } from '../support/sentinel.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

// The queue Redis behind Redis Sentinel fails over (a real master, replicas and a sentinel trio) while a request
// waits for approvals and while a repair runs: nothing approved is lost, nothing runs twice, the repair converges.

/** A real failover plus a repair on a busy two-core machine: longer than the default 60 s is not a hang. */
const FAILOVER_TEST_MS = 150_000;

let backend: RedisBackend;
let recorder: SlackRecorder;
const bots: SpawnedBot[] = [];
let cluster: TestCluster | undefined;
let queue: ReplicatedQueue | undefined;
let queueClient: Redis | undefined;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
});
afterEach(async () => {
  for (const bot of bots.splice(0)) await stopBot(bot, 'SIGKILL');
  queueClient?.disconnect();
  await queue?.stop();
  await cluster?.stop();
  cluster = undefined;
  queue = undefined;
});
afterAll(async () => {
  await recorder?.stop();
  await backend?.stopAll();
});

interface Scene {
  readonly cluster: TestCluster;
  readonly alive: TestNode[];
  readonly written: Written[];
  readonly lost: Set<number>;
  readonly queue: ReplicatedQueue;
  /** Follows the master through the sentinels. */
  readonly client: Redis;
  readonly prefix: string;
  bot(extra?: Record<string, string>): Promise<SpawnedBot>;
}

/** A cluster whose first master and its replica died, a replicated queue Redis, and a way to start bots. */
async function brokenScene(replicas = 2): Promise<Scene> {
  cluster = await startCluster(backend);
  const { alive, written, lost } = await loseFirstMasterWithData(cluster);
  const started = await startReplicatedQueue(backend, { replicas });
  queue = started;
  queueClient = started.client();
  const prefix = `s${Date.now()}`;
  return {
    cluster,
    alive,
    written,
    lost,
    queue: started,
    client: queueClient,
    prefix,
    bot: async (extra = {}) => {
      const vars = botEnv(cluster as TestCluster, recorder, 0, await freePort(), prefix, {
        ...started.env(),
        ...extra,
      });
      const bot = await spawnBot(vars);
      bots.push(bot);
      return bot;
    },
  };
}

const queueReady = async (bot: SpawnedBot) => {
  const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
  return ((await ready.json()) as { status: string }).status === 'ready';
};

async function expectConverged(scene: Scene, id: string, bot: SpawnedBot): Promise<void> {
  const end = await finalState(scene.client, scene.prefix, id, 90_000).catch(async (error: Error) => {
    // Where it stopped, for the one reading a CI log: the request as stored, its events, the bot's last words.
    const doc = await requestDoc(scene.client, scene.prefix, id).catch((e: Error) => e.message);
    const events = await scene.client
      .lrange(`${scene.prefix}:request:${id}:events`, 0, -1)
      .catch((e: Error) => [e.message]);
    throw new Error(
      `${error.message}\nrequest: ${JSON.stringify(doc).slice(0, 2000)}\nevents: ${events.join(' | ').slice(-2000)}\nbot output (last 4000 characters):\n${bot.output().slice(-4000)}`,
    );
  });
  expect(end).toMatchObject({ status: 'done', step: null });
  // Steps of one wave finish together, in any order.
  expect([...end.finished].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  await expectHealthy(scene.alive);
  const data = await checkData(scene.cluster, scene.written, scene.lost);
  expect(data).toMatchObject({ wrong: [], survivedLoss: [] });
  expect(bot.child.exitCode).toBeNull();
  expect(bot.output()).not.toContain('unhandled rejection');
}

/** Every versioned event of the request is there, in order, with no version lost or written twice. */
async function expectCompleteHistory(scene: Scene, id: string): Promise<string[]> {
  const doc = await requestDoc(scene.client, scene.prefix, id);
  const events = (await scene.client.lrange(`${scene.prefix}:request:${id}:events`, 0, -1)).map(
    (e) => JSON.parse(e) as { v: number; event: string },
  );
  expect(events.map((e) => e.v)).toEqual(Array.from({ length: doc.version - 1 }, (_, i) => i + 2));
  return events.map((e) => e.event);
}

/**
 * The step events in order; a transition retried because its first answer was not confirmed by a replica may
 * be recorded twice in a row, so repeats next to each other count once.
 */
async function stepHistory(scene: Scene, id: string): Promise<string[]> {
  const events = (await scene.client.lrange(`${scene.prefix}:request:${id}:events`, 0, -1))
    .map((e) => JSON.parse(e) as { event: string; detail: string })
    .filter((e) => e.event.startsWith('step-'))
    .map((e) => `${e.event} ${/^step (\d+)/.exec(e.detail)?.[1]}`);
  return events.filter((e, i) => e !== events[i - 1]);
}

const approvalsOf = async (scene: Scene, id: string): Promise<unknown[]> => {
  const { approvals } = (await requestDoc(scene.client, scene.prefix, id)) as { approvals?: unknown };
  return Array.isArray(approvals) ? approvals : [];
};

const jobsOf = async (scene: Scene, id: string) =>
  (await scene.client.keys(`${scene.prefix}:bull:repairs:*`)).filter((k) => k.endsWith(`:${id}`));

describe('a request waiting for its second approval while the queue Redis fails over', () => {
  it(
    'keeps the first approval; the second queues exactly one job and the repair runs to done',
    async () => {
      const scene = await brokenScene();
      const bot = await scene.bot();
      const id = await requestRepair(recorder, bot.port, scene.client, scene.prefix, 'take-over');
      await click(recorder, bot.port, 'approve_repair', id, ALICE);
      await waitFor('the first approval', async () => {
        return (await approvalsOf(scene, id)).length === 1;
      });

      await scene.queue.failover('kill');
      await waitFor('the bot to reach the new master', () => queueReady(bot));
      await click(recorder, bot.port, 'approve_repair', id, BOB);

      await expectConverged(scene, id, bot);
      const audit = (await auditOf(scene.client, scene.prefix, id)).map((e) => `${e.event} ${e.user}`);
      expect(audit.slice(0, 4)).toEqual([
        expect.stringMatching(/^requested /),
        `approved ${ALICE}`,
        `approved ${BOB}`,
        `queued ${BOB}`,
      ]);
      expect(audit.filter((e) => e.startsWith('queued'))).toHaveLength(1);
      expect(audit.filter((e) => e.startsWith('started'))).toHaveLength(1);
      expect(await jobsOf(scene, id)).toHaveLength(1);
      await expectCompleteHistory(scene, id);
    },
    FAILOVER_TEST_MS,
  );
});

describe('a repair running while the queue Redis fails over', () => {
  // WAIT 1 keeps a confirmed change when the replica that confirmed it is the one promoted: with one replica
  // after a manual failover; with two (one left to follow the new master) after a crash.
  it.each([
    ['SENTINEL FAILOVER', 'sentinel', 1],
    ['a SIGKILL of the master', 'kill', 2],
  ] as const)(
    'converges to done after %s, runs nothing twice and keeps the whole history',
    async (_, how, replicas) => {
      const scene = await brokenScene(replicas);
      const bot = await scene.bot();
      const id = await requestRepair(recorder, bot.port, scene.client, scene.prefix, 'take-over');
      await click(recorder, bot.port, 'approve_repair', id, ALICE);
      await click(recorder, bot.port, 'approve_repair', id, BOB);
      await waitFor(
        'the wave of step 3 to start',
        async () => ((await requestDoc(scene.client, scene.prefix, id)).step ?? 0) >= 3,
        { timeoutMs: 30_000, intervalMs: 2 },
      );

      await scene.queue.failover(how);

      await expectConverged(scene, id, bot);
      const audit = (await auditOf(scene.client, scene.prefix, id)).map((e) => e.event);
      expect(audit.filter((e) => e === 'queued')).toHaveLength(1);
      expect(audit.filter((e) => e === 'started')).toHaveLength(1);
      expect(audit.at(-1)).toBe('finished');
      await expectCompleteHistory(scene, id);
      const history = await stepHistory(scene, id);
      for (const step of [1, 2, 3, 4, 5, 6]) {
        expect(history.filter((e) => e === `step-started ${step}`)).toHaveLength(1);
        expect(history.filter((e) => e === `step-finished ${step}`)).toHaveLength(1);
        expect(history.indexOf(`step-started ${step}`)).toBeLessThan(
          history.indexOf(`step-finished ${step}`),
        );
      }
      // The forget wave (steps 1-2) is over before the claim wave (3-6) starts.
      expect(Math.max(...[1, 2].map((k) => history.indexOf(`step-finished ${k}`)))).toBeLessThan(
        Math.min(...[3, 4, 5, 6].map((k) => history.indexOf(`step-started ${k}`))),
      );
    },
    FAILOVER_TEST_MS,
  );
});

describe('an approval answered while the replicas lag', () => {
  it(
    'is not confirmed before a replica holds it, so a failover cannot take back a confirmed vote',
    async () => {
      const scene = await brokenScene();
      const bot = await scene.bot({ QUEUE_REDIS_WAIT_TIMEOUT: '30s' });
      const id = await requestRepair(recorder, bot.port, scene.client, scene.prefix, 'take-over');
      const oldMaster = await scene.queue.masterPort();
      const replicas = scene.queue.nodes.filter((n) => n.port !== oldMaster);
      const master = scene.queue.direct(oldMaster);
      for (const replica of replicas) await replica.process.pause();
      // Cut the replication links too: bytes already sent would still reach a paused replica's socket.
      await master.call('CLIENT', 'KILL', 'TYPE', 'replica');

      const first = await click(recorder, bot.port, 'approve_repair', id, ALICE);
      await waitFor('the master to hold the approval', async () =>
        ((await master.get(`${scene.prefix}:request:${id}`)) ?? '').includes(ALICE),
      );
      master.disconnect();
      await scene.queue.failover('kill', {
        beforeWait: async () => {
          for (const replica of replicas) await replica.process.resume();
        },
      });
      const answer = ((await recorder.nextResponse(first)).body as { text: string }).text;
      const after = await approvalsOf(scene, id);
      await waitFor('the bot to reach the new master', () => queueReady(bot));
      await click(recorder, bot.port, 'approve_repair', id, ALICE);
      await click(recorder, bot.port, 'approve_repair', id, BOB);

      // Refused either way while the queue Redis fails over: the vote failed, or the queue was seen down first.
      expect(answer).toMatch(/That did not work|Your click changed nothing/);
      expect(after).toEqual([]);
      await expectConverged(scene, id, bot);
      const audit = (await auditOf(scene.client, scene.prefix, id)).map((e) => e.event);
      expect(audit.filter((e) => e === 'queued')).toHaveLength(1);
      expect(audit.filter((e) => e === 'started')).toHaveLength(1);
    },
    FAILOVER_TEST_MS,
  );
});
