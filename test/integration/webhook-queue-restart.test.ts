import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../support/backend.js';
import { botEnv, type SpawnedBot, spawnBot, stopBot, WEBHOOK_TOKEN } from '../support/bots.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

/** The contract: every answer within this, 202 or 503 with Retry-After. */
const ANSWER_WITHIN_MS = 5000;
/** A plain queue Redis, started again on the same port after a SIGKILL; nothing survives it. */
const QUEUE_CONFIG = { bind: '127.0.0.1', 'protected-mode': 'no', save: '', appendonly: 'no' };

let backend: RedisBackend;
let recorder: SlackRecorder;
let cluster: TestCluster;
let queuePort: number;
let queue: RedisProcess;
let bot: SpawnedBot;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
  queuePort = await freePort();
  queue = await backend.start(queuePort, QUEUE_CONFIG);
  bot = await spawnBot(
    botEnv(cluster, recorder, queuePort, await freePort(), PREFIX, { MONITOR_INTERVAL: '2s' }),
  );
});

afterAll(async () => {
  try {
    if (bot) await stopBot(bot);
  } finally {
    await recorder?.stop();
    await cluster?.stop();
    await backend?.stopAll();
  }
});

interface Answer {
  readonly alert: string;
  readonly status: number | null;
  readonly retryAfter: string | null;
  readonly error: string | null;
  readonly ms: number;
}

const answers: Answer[] = [];

/** Posts one firing alert with the default (keep-alive) fetch; a thrown error is an answer too, and a bad one. */
async function post(alert: string): Promise<Answer> {
  const started = Date.now();
  const body = JSON.stringify({
    version: '4',
    status: 'firing',
    receiver: 'slotwatch',
    alerts: [{ status: 'firing', labels: { alertname: alert, cluster: 'prod' }, annotations: {} }],
  });
  let answer: Answer;
  try {
    const response = await fetch(`http://127.0.0.1:${bot.port}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(3 * ANSWER_WITHIN_MS),
    });
    const json = (await response.json()) as { error?: string };
    answer = {
      alert,
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      error: response.status === 202 ? null : (json.error ?? ''),
      ms: Date.now() - started,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause ? `${cause.code}: ${cause.message}` : String(error);
    answer = { alert, status: null, retryAfter: null, error: detail, ms: Date.now() - started };
  }
  answers.push(answer);
  return answer;
}

/** What breaks the contract: no status, a status other than 202/503, a 503 without Retry-After, or too slow. */
const broken = (a: Answer) =>
  a.status === null ||
  ![202, 503].includes(a.status) ||
  (a.status === 503 && !/^\d+$/.test(a.retryAfter ?? '')) ||
  a.ms > ANSWER_WITHIN_MS;

/** "A, B fired, but Slotwatch sees prod healthy…" posts that name `alert`: a look that read the alert. */
const lookedAt = (alert: string) =>
  recorder.requests.some((r) => {
    const names = String((r.body as { text?: string }).text).split(' fired, but Slotwatch sees prod healthy');
    return r.path === '/api/chat.postMessage' && names.length > 1 && names[0]?.split(', ').includes(alert);
  });

const PREFIX = `wqr${Date.now()}`;

describe('alert webhooks while the queue Redis dies and comes back', () => {
  it('answers every alert with 202, or 503 and Retry-After, and looks at the alert posted after a restart', async () => {
    expect((await post('BeforeTheKill')).status).toBe(202);

    await queue.kill();
    await waitFor(
      'a 503 while the queue Redis is dead',
      async () => (await post('WhileDead')).status === 503,
    );
    const whileDead = await Promise.all([post('WhileDead'), post('WhileDead'), post('WhileDead')]);
    queue = await backend.start(queuePort, QUEUE_CONFIG);
    await waitFor('a 202 after the restart', async () => (await post('AfterTheRestart')).status === 202, {
      timeoutMs: 30_000,
    });
    await waitFor('a look at the alert posted after the restart', () => lookedAt('AfterTheRestart'));
    // The queue Redis came back empty (no persistence): the monitor's schedule is made again, ticks go on.
    const client = new Redis({ port: queuePort, host: '127.0.0.1' });
    try {
      await waitFor(
        'the monitor schedule to be back',
        async () => (await client.keys(`${PREFIX}:bull:monitor:repeat*`)).length > 0,
      );
    } finally {
      client.disconnect();
    }

    expect(whileDead.map((a) => [a.status, a.error])).toEqual(
      whileDead.map(() => [503, expect.stringContaining('queue Redis')]),
    );
    expect(answers.filter(broken)).toEqual([]);
  });

  it('answers 503 and Retry-After within the deadline while the queue Redis holds the connection silent', async () => {
    await waitFor('a 202 before the freeze', async () => (await post('BeforeTheFreeze')).status === 202);

    await queue.pause();
    const frozen = await post('WhileFrozen').finally(() => queue.resume());
    await waitFor('a 202 after the freeze', async () => (await post('AfterTheFreeze')).status === 202);

    expect(frozen).toMatchObject({
      status: 503,
      retryAfter: '5',
      error: expect.stringContaining('the queue Redis did not answer within 3000 ms'),
    });
    expect(answers.filter(broken)).toEqual([]);
  });
});
