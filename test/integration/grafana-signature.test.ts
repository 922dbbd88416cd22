import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Signal } from '../../src/alerts/payloads.js';
import { webhookHandler } from '../../src/http/webhooks.js';

const TOKEN = 'grafana-webhook-token-0123';
const SECRET = 'grafana-hmac-secret';
const NOW = 1_800_000_000_000;
let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** The Grafana route alone, on a loopback port, with `policy`; returns its URL and what it queued. */
async function grafanaRoute(policy: 'required' | 'optional' | undefined) {
  const queued: Signal[] = [];
  const handler = webhookHandler('grafana', {
    token: TOKEN,
    grafanaSecret: SECRET,
    ...(policy ? { grafanaTimestamp: policy } : {}),
    clusters: [{ name: 'prod', seeds: ['127.0.0.1:7000'], channel: null }],
    clusterLabel: 'cluster',
    knownNodes: async () => [],
    enqueue: async (signals) => {
      queued.push(...signals);
    },
    log: pino({ level: 'silent' }),
    now: () => NOW,
  });
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, queued };
}

const body = JSON.stringify({
  status: 'firing',
  orgId: 1,
  alerts: [{ status: 'firing', labels: { alertname: 'RedisDown', cluster: 'prod' }, annotations: {} }],
});
const sign = (text: string) => createHmac('sha256', SECRET).update(text).digest('hex');

async function send(url: string, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as { error?: string } };
}

describe('Grafana signatures and replay', () => {
  it.each([undefined, 'required'] as const)(
    'refuses a signature without a timestamp (policy %s; unset means required), queueing nothing',
    async (policy) => {
      const route = await grafanaRoute(policy);
      const answer = await send(route.url, { 'x-grafana-alert-signature': sign(body) });
      expect(answer.status).toBe(401);
      expect(answer.body.error).toContain('missing X-Grafana-Alert-Timestamp');
      expect(route.queued).toEqual([]);
    },
  );

  it('takes a signature of the body alone only with GRAFANA_HMAC_TIMESTAMP=optional', async () => {
    const route = await grafanaRoute('optional');
    const answer = await send(route.url, { 'x-grafana-alert-signature': sign(body) });
    expect(answer.status).toBe(202);
    expect(route.queued.map((s) => s.cluster)).toEqual(['prod']);
  });

  it("takes Grafana's default header name, X-Grafana-Alerting-Signature, and refuses a wrong one there", async () => {
    const route = await grafanaRoute('required');
    const fresh = String(NOW / 1000 - 10);
    const ok = await send(route.url, {
      'x-grafana-alerting-signature': sign(`${fresh}:${body}`),
      'x-grafana-alert-timestamp': fresh,
    });
    const wrong = await send(route.url, {
      'x-grafana-alerting-signature': sign(`${fresh}:${body}x`),
      'x-grafana-alert-timestamp': fresh,
    });
    expect(ok.status).toBe(202);
    expect(wrong.status).toBe(401);
    expect(route.queued).toHaveLength(1);
  });

  it.each(['required', 'optional'] as const)(
    'takes a fresh timestamped signature and refuses it replayed 6 minutes later (policy %s)',
    async (policy) => {
      const route = await grafanaRoute(policy);
      const stale = String(NOW / 1000 - 360);
      const fresh = String(NOW / 1000 - 10);
      const ok = await send(route.url, {
        'x-grafana-alert-signature': sign(`${fresh}:${body}`),
        'x-grafana-alert-timestamp': fresh,
      });
      const replayed = await send(route.url, {
        'x-grafana-alert-signature': sign(`${stale}:${body}`),
        'x-grafana-alert-timestamp': stale,
      });
      expect(ok.status).toBe(202);
      expect(replayed.status).toBe(401);
      expect(replayed.body.error).toContain('s old');
      expect(route.queued).toHaveLength(1);
    },
  );
});
