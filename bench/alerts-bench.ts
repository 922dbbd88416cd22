import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startSlotwatch } from '../src/main.js';
import { startCluster, startNode } from '../test/support/cluster.js';
import type { RedisBackend } from '../test/support/redis-backend.js';
import { SlackRecorder } from '../test/support/slack-recorder.js';
import { waitFor } from '../test/support/wait.js';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

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
      SLACK_SIGNING_SECRET: 'bench-secret-0123',
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
    const total = 5000;
    const concurrency = 50;
    const latencies: number[] = [];
    const began = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < total) latencies.push(await send());
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(
      `${'webhook ingest (alertmanager)'.padEnd(34)} ${total} requests, ${concurrency} concurrent: ${(total / seconds).toFixed(0)} req/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (202 each)`,
    );

    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const killedAt = Date.now();
    await Promise.all([victim, ...cluster.replicaOf(victim)].map((n) => n.process.kill()));
    await send();
    const posted = await waitFor(
      'the incident post',
      () =>
        recorder.requests.find(
          (r) =>
            r.path === '/api/chat.postMessage' &&
            String((r.body as { text?: string }).text).includes('Incident'),
        ),
      { timeoutMs: 60_000, intervalMs: 5 },
    );
    console.log(
      `${'CLUSTERDOWN → Slack post'.padEnd(34)} ${posted.at - killedAt} ms from killing a master and its replica to the incident post (an alert sent at the kill; node timeout 1.5 s)`,
    );
  } finally {
    await bot.stop();
    await cluster.stop();
    await queue.process.kill();
    await recorder.stop();
  }
}
