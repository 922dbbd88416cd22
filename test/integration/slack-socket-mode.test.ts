import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { clickPayload, slashPayload } from '../../src/sandbox/console-payloads.js';
import { testBackend } from '../support/backend.js';
import {
  ALICE,
  auditOf,
  BOB,
  botEnv,
  CAROL,
  readyz,
  requestDoc,
  spawnBot,
  stopBot,
} from '../support/bots.js';
import { deleteSlotsEverywhere } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

const PREFIX = `socket${Date.now()}`;
let backend: RedisBackend;
let cluster: TestCluster;
let queue: Awaited<ReturnType<typeof startNode>>;
let queueClient: Redis;
let recorder: SlackRecorder;
let bot: Running;
let counter = 0;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder({ mode: 'socket' });
  await recorder.start();
  [cluster, queue] = await Promise.all([startCluster(backend), startNode(backend, {})]);
  queueClient = new Redis(queue.port, '127.0.0.1');
  bot = await startSlotwatch(
    loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_APP_TOKEN: 'xapp-1-test',
      SLACK_API_URL: recorder.apiUrl,
      CLUSTERS: `prod=${cluster.seeds.join(',')}`,
      ALERT_CHANNEL: 'C1',
      QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
      QUEUE_PREFIX: PREFIX,
      SLACK_APPROVERS: [ALICE, BOB, CAROL].join(','),
      PORT: '0',
    }),
    pino({ level: 'silent' }),
  );
});

afterAll(async () => {
  await bot?.stop();
  await recorder?.stop();
  queueClient?.disconnect();
  await queue?.process.kill();
  await cluster?.stop();
  await backend?.stopAll();
});

/** `/redis <text>` as an envelope on the bot's socket; the ack and the response_url post. */
async function slash(text: string, user: string = CAROL) {
  const id = `s${++counter}`;
  const sent = await recorder.slash(user, text, recorder.responseUrl(id));
  const response = await recorder.nextResponse(id);
  return { delivery: sent.delivery, body: response.body as { text: string; blocks?: unknown[] } };
}

/** A bot of its own (no queue Redis) on the same console. */
const secondBotConfig = (appToken: string) =>
  loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_APP_TOKEN: appToken,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: `prod=${cluster.seeds.join(',')}`,
    PORT: '0',
  });

const opens = () => recorder.requests.filter((r) => r.path === '/api/apps.connections.open');

describe('the bot in Socket Mode, against the console playing Slack', () => {
  it('opens its socket with the app token through SLACK_API_URL and says ready', async () => {
    expect(opens().map((r) => r.headers.authorization)).toEqual(['Bearer xapp-1-test']);
    expect(recorder.socketMode.connections).toBe(1);
    expect(await readyz(bot.port)).toMatchObject({
      status: 200,
      body: {
        status: 'ready',
        dependencies: { slack: { ok: true, detail: expect.stringMatching(/^socket mode/) } },
      },
    });
  });

  it('acks `/redis status` within 3 s and posts the report', async () => {
    const { delivery, body } = await slash('status prod');

    expect(delivery).toMatchObject({ acked: true, attempts: 1 });
    expect(delivery?.ackMs).toBeLessThan(3000);
    expect(body.text).toMatch(/^prod: OK/);
  });

  it('publishes the Home tab when a user opens it (an events_api envelope)', async () => {
    const sent = await recorder.home(ALICE);
    const home = await waitFor('the home view', () => recorder.state.homes.get(ALICE));

    expect(sent.delivery).toMatchObject({ acked: true, attempts: 1 });
    expect(JSON.stringify(home)).toContain('*prod*');
  });

  it('runs a redelivered slash command once', async () => {
    const id = `once${++counter}`;
    const payload = slashPayload('C1', CAROL, 'help', recorder.responseUrl(id));
    const first = await recorder.socketMode.deliver('slash_commands', payload);
    await recorder.nextResponse(id);

    const again = await recorder.socketMode.deliver('slash_commands', payload, {
      envelopeId: first.envelopeId,
    });
    // Bounded observation: a second run would have answered by the time a later command is answered.
    await slash('help');

    expect([first.acked, again.acked]).toEqual([true, true]);
    expect(recorder.responses(id)).toHaveLength(1);
  });

  it('counts an approval click delivered twice once', async () => {
    await deleteSlotsEverywhere(cluster.nodes, 6000, 6099);
    const listed = await waitFor('a cover option', async () => {
      const { body } = await slash('fix prod');
      return JSON.stringify(body.blocks ?? []).includes('cover-unassigned') && body;
    });
    const value = (listed.blocks as { elements?: { action_id: string; value?: string }[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === 'request_repair' && e.value?.includes('cover-unassigned'))?.value;
    if (!value) throw new Error('no request button');
    const requested = await recorder.click(
      CAROL,
      'request_repair',
      value,
      '1.000001',
      recorder.responseUrl('req'),
    );
    const request = await waitFor(
      'the request',
      async () => (await queueClient.zrange(`${PREFIX}:requests`, '0', '-1'))[0],
    );

    const approval = clickPayload({
      channel: 'C1',
      user: BOB,
      actionId: 'approve_repair',
      value: request,
      messageTs: '1.000002',
      responseUrl: recorder.responseUrl('approve'),
    });
    const first = await recorder.socketMode.deliver('interactive', approval);
    const again = await recorder.socketMode.deliver('interactive', approval, {
      envelopeId: first.envelopeId,
    });
    await waitFor(
      'both deliveries handled',
      async () => (await auditOf(queueClient, PREFIX, request)).length >= 3,
    );

    expect([requested.delivery?.acked, first.acked, again.acked]).toEqual([true, true, true]);
    const audit = await auditOf(queueClient, PREFIX, request);
    expect(audit.filter((e) => e.event === 'approved').map((e) => e.user)).toEqual([BOB]);
    expect(audit.filter((e) => e.event === 'refused').map((e) => e.detail)).toEqual([
      'approve_repair: replayed click',
    ]);
    const doc = await requestDoc(queueClient, PREFIX, request);
    expect(doc.status).toBe('pending');
  });

  it('reconnects after a refresh request (a new apps.connections.open) and keeps answering', async () => {
    const before = opens().length;

    recorder.socketMode.refresh();
    await waitFor('a new connection', () => opens().length > before && recorder.socketMode.connections === 1);
    const { delivery, body } = await slash('status prod');

    expect(opens()).toHaveLength(before + 1);
    expect(delivery).toMatchObject({ acked: true, attempts: 1 });
    expect(body.text).toMatch(/^prod: /);
  });

  it('says not ready while the socket is down and Slack refuses new ones, retries with backoff, then recovers', async () => {
    const before = recorder.socketMode.opens.length;
    recorder.socketMode.refuseOpens = Number.POSITIVE_INFINITY;

    recorder.socketMode.drop();
    const down = await waitFor('readyz to say not ready', async () => {
      const answer = await readyz(bot.port);
      return answer.status === 503 && answer;
    });
    const unacked = await recorder.socketMode.deliver(
      'slash_commands',
      slashPayload('C1', CAROL, 'status', 'x'),
      {
        retries: 0,
      },
    );
    await waitFor('four refused attempts', () => recorder.socketMode.opens.length - before >= 4, {
      timeoutMs: 30_000,
    });
    recorder.socketMode.refuseOpens = 0;
    const up = await waitFor(
      'readyz to say ready again',
      async () => {
        const answer = await readyz(bot.port);
        return answer.status === 200 && answer;
      },
      { timeoutMs: 30_000 },
    );
    const { delivery } = await slash('status prod');

    expect(down.body).toMatchObject({
      status: 'not-ready',
      dependencies: { slack: { ok: false, detail: 'not connected' } },
    });
    expect(unacked).toMatchObject({ acked: false, attempts: 1 });
    const at = recorder.socketMode.opens.slice(before).map((o) => o.at);
    const gaps = at.slice(1).map((t, i) => t - (at[i] ?? t));
    // Exponential backoff from 1 s with jitter (0.5-1, 1-2, 2-4 s): at least 3.5 s for the first three waits.
    expect(gaps.slice(0, 3).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3500);
    expect(gaps[0]).toBeGreaterThanOrEqual(500);
    expect(up.body.status).toBe('ready');
    expect(delivery).toMatchObject({ acked: true });
  });

  it('starts while Slack refuses new sockets, not ready until Slack lets it in', async () => {
    recorder.socketMode.refuseOpens = Number.POSITIVE_INFINITY;
    const before = recorder.socketMode.opens.length;
    let second: Running | undefined;
    try {
      second = await startSlotwatch(secondBotConfig('xapp-1-second'), pino({ level: 'silent' }));
      const url = `http://127.0.0.1:${second.port}/readyz`;
      const ready = async () => (await fetch(url)).status;
      const whileRefused = await ready();
      await waitFor(
        'a few refused attempts',
        () => recorder.socketMode.opens.slice(before).filter((o) => o.refused).length >= 2,
      );

      recorder.socketMode.refuseOpens = 0;

      expect(whileRefused).toBe(503);
      await waitFor('it to say ready', async () => (await ready()) === 200, { timeoutMs: 30_000 });
    } finally {
      recorder.socketMode.refuseOpens = 0;
      await second?.stop();
    }
  });

  it('refuses to start with an app token Slack rejects', async () => {
    recorder.socketMode.revoked.add('xapp-1-revoked');

    const started = startSlotwatch(secondBotConfig('xapp-1-revoked'), pino({ level: 'silent' }));

    await expect(started).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  it('a second replica (its own process, from dist/) shares redeliveries and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const before = recorder.socketMode.connections;
    const spawned = await spawnBot(
      botEnv(cluster, recorder, queue.port, port, PREFIX, { SLACK_APP_TOKEN: 'xapp-1-spawned' }),
    );
    try {
      await waitFor('its socket', () => recorder.socketMode.connections === before + 1);
      const ready = await waitFor('it to say ready', async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        return response.status === 200 && response;
      });
      const id = `replicas${++counter}`;
      const payload = slashPayload('C1', CAROL, 'help', recorder.responseUrl(id));
      // Round robin over the two sockets: the redelivery goes to the other replica.
      const first = await recorder.socketMode.deliver('slash_commands', payload);
      const again = await recorder.socketMode.deliver('slash_commands', payload, {
        envelopeId: first.envelopeId,
      });
      await recorder.nextResponse(id);
      await slash('help');
      await slash('help');
      const began = Date.now();

      await stopBot(spawned);

      expect(ready.status).toBe(200);
      const sentTo = recorder.socketMode.log.flatMap((e) =>
        e.kind === 'sent' && e.envelope.envelope_id === first.envelopeId ? [e.connection] : [],
      );
      expect(new Set(sentTo).size).toBe(2);
      expect([first.acked, again.acked]).toEqual([true, true]);
      expect(recorder.responses(id)).toHaveLength(1);
      expect(await spawned.exit).toBe(0);
      expect(Date.now() - began).toBeLessThan(10_000);
      await waitFor('its socket to close', () => recorder.socketMode.connections === before);
    } finally {
      await stopBot(spawned);
    }
  });
});
