import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/main.js';
import { waitFor } from '../support/wait.js';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ slackMode: 'http' });
});

afterAll(async () => {
  await sandbox?.stop();
});

const post = async (path: string, body?: unknown) => {
  const response = await fetch(new URL(path, sandbox.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return (await response.json()) as Record<string, unknown>;
};
const breaker = async (name: string) =>
  String((await post(`/console/break/${encodeURIComponent(name)}`)).done);
const messages = async () =>
  ((await (await fetch(new URL('/console/state', sandbox.url))).json()) as { messages: { text: string }[] })
    .messages;
const answers = async (port: number) => {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
};

describe('the sandbox console (npm run sandbox)', () => {
  it('lists three approvers, restarts killed nodes, and resets to a healthy cluster with the channel cleared', async () => {
    const state = (await (await fetch(new URL('/console/state', sandbox.url))).json()) as {
      users: { name: string }[];
    };
    expect(state.users.map((u) => u.name)).toEqual(['requester', 'approver-1', 'approver-2', 'approver-3']);

    const killed = await breaker('kill a master and its replica');
    const ports = [...killed.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(ports).toHaveLength(1);
    expect(await answers(ports[0] as number)).toBe(false);
    await waitFor('the incident post', async () =>
      (await messages()).some((m) => /CLUSTERDOWN|Incident/i.test(m.text)),
    );

    const restarted = await breaker('restart the killed nodes (empty, with their nodes.conf)');
    expect(restarted).toMatch(/^restarted 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+: back with their old identity/);
    expect(await answers(ports[0] as number)).toBe(true);
    expect(await breaker('restart the killed nodes (empty, with their nodes.conf)')).toBe('no node is down');

    const reset = await breaker('reset the sandbox (a new healthy cluster, the channel cleared)');
    expect(reset).toMatch(/^a new healthy 6-node cluster/);
    expect(await messages()).toEqual([]);
    expect((await post('/console/slash', { user: 'U0REQUEST1', text: 'status' })).status).toBe(200);
    await waitFor('a healthy status in the cleared channel', async () =>
      (await messages()).some((m) => m.text.startsWith('sandbox: OK')),
    );
  });
});
