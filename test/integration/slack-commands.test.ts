import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { killMasterAndReplicas } from '../support/break.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import type { RedisBackend } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { postToSlack, slashCommandBody } from '../support/slack-signing.js';

const SECRET = 'test-signing-secret-0123456789';
let backend: RedisBackend;
let healthy: TestCluster;
let broken: TestCluster;
let shared: TestCluster;
let brokenSeeds: string;
let recorder: SlackRecorder;
let bot: Running;
let counter = 0;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  [healthy, broken, shared] = await Promise.all([
    startCluster(backend),
    startCluster(backend),
    startCluster(backend, { masters: 3, replicasPerMaster: 0 }),
  ]);
  const [victim] = broken.masters;
  if (!victim) throw new Error('no master');
  const alive = await killMasterAndReplicas(broken, victim);
  brokenSeeds = alive.map((n) => n.address).join(',');
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: `prod=${healthy.seeds.join(',')};broken=${brokenSeeds};shared=${shared.seeds.join(',')}`,
    ALERT_CHANNEL: 'C0ALERTS',
    PORT: '0',
  });
  bot = await startSlotwatch(config, pino({ level: 'silent' }));
});

afterAll(async () => {
  await bot?.stop();
  await recorder?.stop();
  await healthy?.stop();
  await broken?.stop();
  await shared?.stop();
  await backend?.stopAll();
});

/** Sends `/redis <text>` signed, returns the ack and the response_url post. */
async function slash(text: string) {
  const id = `r${++counter}`;
  const ack = await postToSlack(bot.port, slashCommandBody({ text, responseUrl: recorder.responseUrl(id) }), {
    secret: SECRET,
  });
  const response = await recorder.nextResponse(id);
  return {
    ack,
    body: response.body as {
      response_type: string;
      text: string;
      blocks?: { type: string; text?: { text: string } }[];
    },
  };
}

const blockText = (blocks: { text?: { text: string }; elements?: { text: string }[] }[] = []) =>
  blocks.map((b) => b.text?.text ?? b.elements?.map((e) => e.text).join(' ') ?? '').join('\n');

describe('/redis over the real Bolt HTTP receiver', () => {
  it('answers a channel full of /redis status from shared probes, each begun after its question', async () => {
    // A node that accepts connections but answers nothing keeps each probe running for its 2 s node deadline.
    const hung = shared.masters[2];
    if (!hung) throw new Error('no master');
    const probes = async () => {
      const text = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
      return text
        .split('\n')
        .filter(
          (l) => l.startsWith('slotwatch_probe_duration_seconds_count{') && l.includes('cluster="shared"'),
        )
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    };
    await hung.process.pause();
    try {
      const before = await probes();
      // The first question's probe starts as it is acked; eleven more arrive while it runs.
      const id = `r${++counter}`;
      const firstAck = await postToSlack(
        bot.port,
        slashCommandBody({ text: 'status shared', responseUrl: recorder.responseUrl(id) }),
        { secret: SECRET },
      );
      const rest = await Promise.all(Array.from({ length: 11 }, () => slash('status shared')));
      const first = (await recorder.nextResponse(id)).body as { text: string };
      const answers = [{ ack: firstAck, body: first }, ...rest];
      const after = await probes();

      for (const { ack, body } of answers) {
        expect(ack.status).toBe(200);
        expect(body.text).toMatch(/^shared: /);
      }
      // The running probe began before the eleven asked: they share the next one. Two probes, not twelve.
      expect(after - before).toBe(2);
    } finally {
      await hung.process.resume();
    }
  });

  it('acks at once and posts a healthy status in the channel', async () => {
    const { ack, body } = await slash('status prod');
    expect(ack.status).toBe(200);
    expect(body.response_type).toBe('in_channel');
    expect(body.text).toMatch(/^prod: OK/);
    expect(blockText(body.blocks)).toContain('16384/16384 slots covered');
  });

  it('reports the default cluster when none is named', async () => {
    const { body } = await slash('');
    expect(body.text).toMatch(/^prod: /);
  });

  it('posts the gap table and findings for a broken cluster', async () => {
    const { body } = await slash('status broken');
    const text = blockText(body.blocks);
    expect(body.response_type).toBe('in_channel');
    expect(body.text).toMatch(
      /^broken: CLUSTERDOWN — 10923\/16384 slots covered, 5461 uncovered; CLUSTER_DOWN/,
    );
    expect(text).toMatch(/0-5460\s+5461\s+owner-failed/);
    expect(text).toContain('*SLOTS_OWNER_FAILED*');
    expect(text).toContain('*Next:*');
    expect(text).toContain('Runbook:');
    // No queue Redis in this bot: no repair button.
    expect(JSON.stringify(body.blocks)).not.toContain('plan_again');
  });

  it.each([
    ['slots broken', /Slot gaps/, /SLOTS_OWNER_FAILED/],
    ['nodes broken', /\*Nodes\*/, /Slot gaps/],
    ['check broken', /Nodes\*/, /^$/],
  ])('answers `%s` with its own view', async (text, present, absent) => {
    const { body } = await slash(text);
    const shown = blockText(body.blocks);
    expect(body.response_type).toBe('in_channel');
    expect(shown).toMatch(present);
    if (absent.source !== '^$') expect(shown).not.toMatch(absent);
  });

  it('explains a Redis error in the channel', async () => {
    const { body } = await slash('explain (error) CLUSTERDOWN Hash slot not served');
    expect(body.response_type).toBe('in_channel');
    expect(blockText(body.blocks)).toContain('*Cause*');
  });

  it.each([
    ['SLOTS_OWNER_FAILED', 'SLOTS_OWNER_FAILED: slots of a master the cluster agreed is FAIL'],
    ['quorum_lost', 'QUORUM_LOST: fewer than half + 1'],
  ])('explains the finding code %s', async (code, title) => {
    const { body } = await slash(`explain ${code}`);
    expect(body.response_type).toBe('in_channel');
    expect(blockText(body.blocks)).toContain(title);
    expect(blockText(body.blocks)).toContain('*Fix*');
  });

  it('answers an unknown subcommand in one line that points to help', async () => {
    const { body } = await slash('frobnicate now');
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toBe('Unknown subcommand `frobnicate`: `/redis help` lists them.');
  });

  it.each([
    ['status nowhere', 'Unknown cluster `nowhere`'],
    ['status prod extra', 'takes at most one cluster name'],
    ['explain', 'Give the Redis error text'],
    ['explain WRONGTYPE nope', 'No runbook entry matches'],
  ])('answers the mistake `%s` privately and specifically', async (text, message) => {
    const { body } = await slash(text);
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain(message);
    if (text.startsWith('status nowhere')) expect(body.text).toContain('`prod` (default), `broken`');
  });

  it('lists the clusters and the help privately, without secrets', async () => {
    const clusters = await slash('clusters');
    const help = await slash('help');
    expect(clusters.body.response_type).toBe('ephemeral');
    expect(clusters.body.text).toContain('`broken`');
    expect(clusters.body.text).toContain('alerts in C0ALERTS');
    expect(help.body.text).toContain('*Usage:*');
  });

  it.each([
    ['a wrong signature', { signature: 'v0=deadbeef' }],
    ['no signature headers', { signature: null }],
    ['a timestamp older than five minutes', { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }],
  ])('refuses %s with 401 and runs no handler', async (_name, options) => {
    const id = `bad${++counter}`;

    const result = await postToSlack(
      bot.port,
      slashCommandBody({ text: 'status', responseUrl: recorder.responseUrl(id) }),
      {
        secret: SECRET,
        ...options,
      },
    );
    // Bounded observation: a handler that had run would have answered by the time a correctly signed
    // command sent afterwards (same cluster, same work) has been answered.
    await slash('status');

    expect(result.status).toBe(401);
    expect(recorder.responses(id)).toEqual([]);
  });

  it('acks before the probe ends when a node hangs, and answers once the probe deadline passes', async () => {
    const victim = healthy.masters[1];
    if (!victim) throw new Error('no master');
    await victim.process.pause();
    try {
      const id = `hung${++counter}`;

      const ack = await postToSlack(
        bot.port,
        slashCommandBody({ text: 'status prod', responseUrl: recorder.responseUrl(id) }),
        { secret: SECRET },
      );
      const answeredAtAck = recorder.responses(id).length;
      const response = await recorder.nextResponse(id);

      // Slack gives up after 3 s: the ack must not wait for the paused node, whose probe ends only at its deadline.
      expect(ack.status).toBe(200);
      expect(answeredAtAck).toBe(0);
      expect(blockText((response.body as { blocks: [] }).blocks)).toContain('unreachable');
    } finally {
      await victim.process.resume();
    }
  });

  it('serves health, readiness and metrics on the same port', async () => {
    await slash('status prod');
    await slash('status broken');

    const health = await fetch(`http://127.0.0.1:${bot.port}/healthz`);
    const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
    const metrics = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
    const wrongMethod = await fetch(`http://127.0.0.1:${bot.port}/healthz`, { method: 'POST' });
    expect(health.status).toBe(200);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, dependencies: { slack: { ok: true } } });
    expect(metrics).toMatch(/slotwatch_commands_total\{subcommand="status",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/slotwatch_findings\{cluster="broken",code="CLUSTER_DOWN",severity="error"\} 1/);
    expect(metrics).toMatch(/slotwatch_last_successful_probe_timestamp_seconds\{cluster="prod"\}/);
    expect(metrics).toContain('slotwatch_probe_duration_seconds_bucket');
    expect(wrongMethod.status).toBe(405);
  });
});
