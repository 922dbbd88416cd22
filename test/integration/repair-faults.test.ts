import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseClusterNodes } from '../../src/core/cluster-nodes.js';
import { keySlot } from '../../src/core/key-slot.js';
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
import { type LostMaster, loseFirstMasterWithData, restartWithData } from '../support/lost-master.js';
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
let restarted: { process: RedisProcess; redis: Redis } | undefined;

beforeAll(async () => {
  backend = await testBackend();
  // Slack's limits on, as everywhere: the bot keeps within them (one post a second per channel).
  recorder = new SlackRecorder();
  await recorder.start();
});
afterEach(async () => {
  for (const bot of bots.splice(0)) await stopBot(bot, 'SIGKILL');
  restarted?.redis.disconnect();
  await restarted?.process.kill();
  restarted = undefined;
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
  readonly dead: LostMaster;
  readonly queue: Redis;
  readonly prefix: string;
  bot(extra?: Record<string, string>): Promise<SpawnedBot>;
}

/** A cluster holding data whose first master and its replica died, a queue Redis, and a way to start bots. */
async function brokenScene({ keepData = false } = {}): Promise<Scene> {
  cluster = await startCluster(backend);
  const dead = await loseFirstMasterWithData(cluster, { keepData });
  const { alive, written, lost } = dead;
  queue = await startQueue();
  queueClient = new Redis({ port: queue.port, host: '127.0.0.1', retryStrategy: () => 200 });
  queueClient.on('error', () => {});
  const prefix = `f${Date.now()}`;
  const scene: Scene = {
    cluster,
    alive,
    written,
    lost,
    dead,
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
  // People click the buttons of the request's message: it is in Slack first.
  await waitFor(
    'the request message in Slack',
    async () => (await requestDoc(scene.queue, scene.prefix, id)).ts,
  );
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

/** The node ids this live node's CLUSTER NODES lists, and how many of the dead master's slots (0-5460) it sees owned. */
async function viewOf(node: TestNode): Promise<{ ids: string[]; lostSlotsOwned: number }> {
  const parsed = parseClusterNodes(String(await node.redis.call('CLUSTER', 'NODES')));
  if (!parsed.ok) throw new Error(parsed.error.message);
  let owned = 0;
  for (const entry of parsed.value)
    for (const [start, end] of entry.slots) owned += Math.max(0, Math.min(end, 5460) - start + 1);
  return { ids: parsed.value.map((e) => e.id), lostSlotsOwned: owned };
}

const views = (scene: Scene) => Promise.all(scene.alive.map(viewOf));

/**
 * Holds the worker at its next write to the queue Redis (a step recorded finished): CLIENT PAUSE WRITE stops
 * every write, the worker's included, and a paused command of a client that dies is dropped, never run.
 */
const holdWrites = (queue: Redis) => queue.call('CLIENT', 'PAUSE', '30000', 'WRITE');
const releaseWrites = (queue: Redis) => queue.call('CLIENT', 'UNPAUSE');

type Doc = Awaited<ReturnType<typeof requestDoc>>;

/** Where a worker dies: `hold` (optional) pauses its writes, `acted` says the wave changed the cluster. */
interface Stage {
  readonly hold?: (doc: Doc) => Promise<boolean>;
  readonly acted: (doc: Doc) => Promise<boolean>;
}

/** Kills the worker of `id` once `acted` holds (holding its writes from when `hold` holds, when given). */
async function killWhen(scene: Scene, bot: SpawnedBot, id: string, stage: Stage): Promise<Doc> {
  const { hold } = stage;
  if (hold) {
    await waitFor('the wave to start', async () => hold(await requestDoc(scene.queue, scene.prefix, id)), {
      timeoutMs: 30_000,
      intervalMs: 2,
    });
    await holdWrites(scene.queue);
  }
  try {
    await waitFor(
      'the wave to act on the cluster',
      async () => stage.acted(await requestDoc(scene.queue, scene.prefix, id)),
      {
        timeoutMs: 30_000,
        intervalMs: 2,
      },
    );
    bot.child.kill('SIGKILL');
    await bot.exit;
  } catch (error) {
    // What the worker and the cluster looked like, so that a missed kill says where the run was.
    const doc = await requestDoc(scene.queue, scene.prefix, id);
    const seen = (await views(scene)).map((v) => v.lostSlotsOwned);
    throw new Error(
      `${(error as Error).message}; request ${JSON.stringify(doc)}; lost slots owned per view ${seen}; worker said: ${bot.output().slice(-2000)}`,
    );
  } finally {
    if (hold) await releaseWrites(scene.queue);
  }
  return requestDoc(scene.queue, scene.prefix, id);
}

describe('a worker killed inside a step of a take-over', () => {
  // 6 steps in two waves: forget the master and its replica (1-2), then two ADDSLOTSRANGE and two BUMPEPOCH
  // at once (3-6). Each kill lands after the wave really changed the cluster and before it was recorded
  // finished, so the next worker finds the cluster changed since the plan (and must not call it stale).
  const forgot = async (scene: Scene) =>
    (await views(scene)).some((v) => !v.ids.includes(scene.dead.victim.id));
  const claiming = (doc: Doc) => doc.finished.includes(2) && !doc.finished.includes(3);
  const owned = async (scene: Scene) => (await views(scene)).map((v) => v.lostSlotsOwned);
  it.each<[string, (scene: Scene) => Stage, (doc: Doc) => boolean]>([
    [
      'the first wave, after a node forgot the dead master',
      (scene) => ({
        hold: async (doc) => doc.step === 2 && doc.finished.length === 0,
        acted: async () => forgot(scene),
      }),
      (doc) => doc.finished.length === 0,
    ],
    [
      'the claim wave, with part of the slots claimed',
      (scene) => ({
        acted: async (doc) => {
          if (!claiming(doc)) return false;
          const counts = await owned(scene);
          return counts.some((n) => n > 0) && counts.some((n) => n < 5461);
        },
      }),
      claiming,
    ],
    [
      'the claim wave, after every slot was claimed',
      (scene) => ({
        hold: async (doc) => claiming(doc) && (await owned(scene)).some((n) => n > 0),
        acted: async () => (await owned(scene)).every((n) => n === 5461),
      }),
      claiming,
    ],
  ])('is taken over and finished by another worker when killed inside %s', async (_, stage, inside) => {
    const scene = await brokenScene();
    const first = await scene.bot();
    const id = await approvedTakeOver(scene, first);

    const atKill = await killWhen(scene, first, id, stage(scene));
    const changed = await forgot(scene);
    const second = await scene.bot();

    expect(atKill.status).toBe('running');
    expect(inside(atKill)).toBe(true);
    expect(changed).toBe(true);
    await expectConverged(scene, id, [second]);
    expect(first.output()).not.toContain('unhandled rejection');
    const audit = await auditOf(scene.queue, scene.prefix, id);
    expect(audit.filter((e) => e.event === 'started').map((e) => e.detail)).toEqual([
      expect.stringMatching(/^take-over-/),
      'resumed after a worker stopped answering',
    ]);
    expect(audit.at(-1)?.event).toBe('finished');
  });

  it('stops with exactly what is left, and loses no key, when the dead master comes back before the resume', async () => {
    const scene = await brokenScene({ keepData: true });
    const { victim, dir } = scene.dead;
    const [deadReplica] = scene.cluster.replicaOf(victim) as [TestNode];
    const first = await scene.bot();
    const id = await approvedTakeOver(scene, first);
    // Killed once every live node forgot the master and its replica (step 1-2 acted, not recorded finished).
    await killWhen(scene, first, id, {
      hold: async (doc) => doc.step === 2 && doc.finished.length === 0,
      acted: async () =>
        (await views(scene)).every((v) => !v.ids.includes(victim.id) && !v.ids.includes(deadReplica.id)),
    });
    // The master restarts from its RDB, with its keys; it sees its dead replica failed before the resume.
    restarted = await restartWithData(backend, victim, dir ?? '');
    const back = restarted.redis;
    await waitFor('the master to see its replica failed', async () => {
      const line = String(await back.call('CLUSTER', 'NODES'))
        .split('\n')
        .find((l) => l.startsWith(deadReplica.id));
      return /fail/.test(line?.split(' ')[2] ?? '');
    });
    const theirs = scene.written.filter((w) => keySlot(w.key) <= 5460).map((w) => w.key);

    const second = await scene.bot();
    const end = await finalState(scene.queue, scene.prefix, id);

    const { steps } = JSON.parse((await scene.queue.get(`${scene.prefix}:request:${id}:option`)) ?? '{}') as {
      steps: { index: number; where: string; command: string }[];
    };
    // A BUMPEPOCH found done already (its master has the highest epoch) counts as finished; the claims do not.
    const left = steps
      .filter((s) => !end.finished.includes(s.index))
      .map((s) => `step ${s.index} (${s.where}: ${s.command})`)
      .join('; ');
    expect(end.status).toBe('failed');
    expect(end.outcome).toContain('Stopped at step 3: not giving');
    expect(end.outcome).toContain(
      `${victim.address} (${victim.id.slice(0, 8)}), a node this repair was to forget as dead: it answers again holds`,
    );
    expect(end.outcome).toMatch(/\. Left to do: .*\.$/);
    expect(end.outcome?.slice(end.outcome.indexOf('Left to do: '))).toBe(`Left to do: ${left}.`);
    expect(end.finished).toEqual(expect.arrayContaining([1, 2]));
    expect(end.finished).not.toEqual(expect.arrayContaining([3]));
    expect(end.finished).not.toEqual(expect.arrayContaining([4]));
    expect(left).toMatch(/^step 3 \(.*ADDSLOTSRANGE 0 \d+\); step 4 \(.*ADDSLOTSRANGE \d+ 5460\); step 5 /);
    // No key of the master is lost: all of them are still on it, and it still owns its slots.
    expect(Number(await back.dbsize())).toBe(theirs.length);
    const present = (await back.pipeline(theirs.map((key) => ['exists', key])).exec()) ?? [];
    expect(present.filter(([error, n]) => !error && n === 1)).toHaveLength(theirs.length);
    expect((await viewOf({ ...victim, redis: back })).lostSlotsOwned).toBe(5461);
    // Nothing claimed its slots, no step of the claim wave acted.
    expect((await views(scene)).map((v) => v.lostSlotsOwned)).toEqual(scene.alive.map(() => 0));
    const audit = await auditOf(scene.queue, scene.prefix, id);
    expect(audit.filter((e) => e.event === 'step' && /^step [34] done/.test(e.detail))).toEqual([]);
    expect(audit.some((e) => e.detail.startsWith('step 3 failed: refused: not giving'))).toBe(true);
    expect(second.child.exitCode).toBeNull();
    for (const bot of [first, second]) expect(bot.output()).not.toContain('unhandled rejection');
  });
});

describe('a repair that loses its cluster lock', () => {
  it('stops at the step boundary, says the lock was lost and starts no further step', async () => {
    const scene = await brokenScene();
    const bot = await scene.bot();
    const id = await approvedTakeOver(scene, bot);
    const lock = `${scene.prefix}:lock:prod`;
    // Atomically while the first wave runs (steps 1-2 started, none finished): someone else takes the lock.
    const steal = `local r = cjson.decode(redis.call('GET', KEYS[1]) or '{}')
if r.step == 2 and (type(r.finished) ~= 'table' or #r.finished == 0) then
  redis.call('SET', KEYS[2], 'thief', 'PX', 60000) return 1 end return 0`;
    await waitFor(
      'the first wave to run',
      async () => (await scene.queue.eval(steal, 2, `${scene.prefix}:request:${id}`, lock)) === 1,
      { timeoutMs: 30_000, intervalMs: 2 },
    );

    const end = await finalState(scene.queue, scene.prefix, id);

    expect(end.status).toBe('failed');
    expect(end.outcome).toMatch(
      /^Stopped before step 3: the cluster lock was lost to another repair\. .* Left to do: step 3 \(.*\); step 4 \(.*\); step 5 \(.*\); step 6 \(.*\)\.$/,
    );
    expect([...end.finished].sort()).toEqual([1, 2]);
    const steps = (await auditOf(scene.queue, scene.prefix, id))
      .filter((e) => e.event === 'step')
      .map((e) => e.detail);
    expect(steps.filter((d) => /^step [3-6]\b/.test(d))).toEqual([]);
    expect(steps.filter((d) => /^step [12]: CLUSTER FORGET/.test(d))).toHaveLength(2);
    expect(await scene.queue.get(lock)).toBe('thief');
    // The claim wave never ran: nobody owns the dead master's slots.
    expect((await views(scene)).map((v) => v.lostSlotsOwned)).toEqual(scene.alive.map(() => 0));
    expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).ok).toBe(true);
    expect(bot.child.exitCode).toBeNull();
    expect(bot.output()).not.toContain('unhandled rejection');
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
    // Slack shows it as soon as the render path takes it (it never waits for Slack, nor Slack for it).
    await waitFor('the request message to show the expiry', () =>
      recorder.requests.some(
        (r) =>
          r.path.endsWith('chat.update') &&
          JSON.stringify(r.body).includes(id) &&
          JSON.stringify(r.body).includes('xpired'),
      ),
    );
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
