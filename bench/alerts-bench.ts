import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startSlotwatch } from '../src/main.js';
import { startCluster, startNode } from '../test/support/cluster.js';
import type { RedisBackend } from '../test/support/redis-backend.js';
import { SlackRecorder } from '../test/support/slack-recorder.js';
import { postToSlack, slashCommandBody } from '../test/support/slack-signing.js';
import { waitFor } from '../test/support/wait.js';
import { recordGoal } from './goals.js';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

const SECRET = 'bench-secret-0123';

/** Webhook ingest throughput and latency, then the delay from a real CLUSTERDOWN to the recorded Slack post. */
export async function benchAlerts(backend: RedisBackend): Promise<void> {
  const recorder = new SlackRecorder();
  await recorder.start();
  const cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 1 });
  const queue = await startNode(backend, {});
  const token = 'bench-webhook-token-0123456789';
  const bot = await startSlotwatch(
    loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: recorder.apiUrl,
      CLUSTERS: `prod=${cluster.nodes.map((n) => n.address).join(',')}`,
      ALERT_CHANNEL: 'C0BENCH',
      QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
      QUEUE_PREFIX: `bench${Date.now()}`,
      WEBHOOK_TOKEN: token,
      MONITOR_INTERVAL: '5s',
      PORT: '0',
    }),
    pino({ level: 'silent' }),
  );
  try {
    const body = JSON.stringify({
      version: '4',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'RedisClusterStateNotOk', cluster: 'prod' },
          annotations: {},
        },
      ],
    });
    const send = async () => {
      const began = performance.now();
      const response = await fetch(`http://127.0.0.1:${bot.port}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`status ${response.status}`);
      return performance.now() - began;
    };
    /** `total` alerts from `concurrency` connections; the latency of each. */
    const storm = async (total: number, concurrency: number) => {
      const latencies: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < total) latencies.push(await send());
        }),
      );
      return latencies.sort((a, b) => a - b);
    };
    const total = 5000;
    const concurrency = 50;
    const began = performance.now();
    const latencies = await storm(total, concurrency);
    const seconds = (performance.now() - began) / 1000;
    console.log(
      `${'webhook ingest (alertmanager)'.padEnd(34)} ${total} requests, ${concurrency} concurrent: ${(total / seconds).toFixed(0)} req/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (202 each)`,
    );

    // The storm that matters: the cluster goes down and the alerts pour in while people type /redis status.
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const incidentPosts = () =>
      recorder.requests.filter(
        (r) =>
          r.path === '/api/chat.postMessage' &&
          String((r.body as { text?: string }).text).includes('Incident'),
      );
    const killedAt = Date.now();
    await Promise.all([victim, ...cluster.replicaOf(victim)].map((n) => n.process.kill()));
    let storming = true;
    const acks: number[] = [];
    let commands = 0;
    const typing = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (storming) {
          const id = `storm-${commands++}`;
          const body = slashCommandBody({ text: 'status prod', responseUrl: recorder.responseUrl(id) });
          const ack = await postToSlack(bot.port, body, { secret: SECRET });
          if (ack.status !== 200) throw new Error(`slash command answered ${ack.status}`);
          acks.push(ack.ms);
        }
      }),
    );
    const stormLatencies = await storm(total, concurrency);
    const posted = await waitFor('the incident post', () => incidentPosts()[0], {
      timeoutMs: 60_000,
      intervalMs: 5,
    });
    storming = false;
    await typing;
    acks.sort((a, b) => a - b);
    const p99 = percentile(acks, 99);
    recordGoal({
      goal: `during a ${total}-alert storm against a cluster that just went down, slash commands acked within 100 ms at p99`,
      measured: `p99 ${p99.toFixed(0)} ms over ${acks.length} signed /redis status (p50 ${percentile(acks, 50).toFixed(0)} ms)`,
      baseline: "Slack's 3 s ack limit",
      met: p99 < 100,
    });
    recordGoal({
      goal: 'one incident post per storm',
      measured: `${incidentPosts().length} incident post(s)`,
      baseline: `${total} alerts`,
      met: incidentPosts().length === 1,
    });
    console.log(
      `${'CLUSTERDOWN → Slack post'.padEnd(34)} ${posted.at - killedAt} ms from killing a master and its replica to the incident post, during a storm of ${total} alerts (webhook p99 ${percentile(stormLatencies, 99).toFixed(1)} ms; node timeout 1.5 s)`,
    );
    console.log(
      `${'slash commands during the storm'.padEnd(34)} ${acks.length} signed /redis status from 4 users at once: ack p50 ${percentile(acks, 50).toFixed(0)} ms, p99 ${percentile(acks, 99).toFixed(0)} ms, max ${acks.at(-1)?.toFixed(0)} ms | incident posts for the storm: ${incidentPosts().length}`,
    );
  } finally {
    await bot.stop();
    await cluster.stop();
    await queue.process.kill();
    await recorder.stop();
  }
}
