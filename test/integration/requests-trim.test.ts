import { describe, expect, it } from 'vitest';
import { RequestStore } from '../../src/jobs/requests.js';
import { useQueueRedis } from '../support/queue-redis.js';
import { requestFixture } from '../support/request-fixtures.js';

const queue = useQueueRedis();

describe('the requests index', () => {
  it('keeps only requests younger than keepMs, however many were made', async () => {
    const prefix = `trim${Date.now()}`;
    const store = new RequestStore(queue.redis, prefix, { keepMs: 10_000 });
    const start = Date.now();
    // One request a second for 60 s: an index that never forgets would hold all 60.
    for (let i = 0; i < 60; i++) {
      const { version: _version, ...request } = requestFixture({
        id: `rq-${i}`,
        createdAt: start + i * 1000,
        expiresAt: start + i * 1000 + 5000,
      });
      await store.create(request);
    }
    const kept = await queue.redis.zrange(`${prefix}:requests`, '0', '-1');
    // Created at 59 s: everything created within the 10 s before it stays, older ones are gone.
    expect(kept).toEqual(Array.from({ length: 10 }, (_, k) => `rq-${50 + k}`));
  });
});

/** The commands clients send while `work` runs (as MONITOR shows them; those a script runs are left out). */
async function commandsSentDuring(work: () => Promise<void>): Promise<string[]> {
  const monitor = await queue.redis.monitor();
  const sent: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') sent.push(String(args[0]).toLowerCase());
  });
  try {
    await work();
    // MONITOR streams what ran before its own next reply: one PING marks the end of the window.
    await queue.redis.ping('end');
    await new Promise<void>((resolve) => {
      const done = () => sent.at(-1) === 'ping' && resolve();
      monitor.on('monitor', done);
      done();
    });
  } finally {
    monitor.disconnect();
  }
  return sent.slice(0, -1);
}

describe('a request transition', () => {
  it('is its one script, never followed by a second command a paused write could queue behind', async () => {
    const prefix = `one${Date.now()}`;
    const store = new RequestStore(queue.redis, prefix);
    const now = Date.now();
    const { version: _version, ...request } = requestFixture({ createdAt: now, expiresAt: now + 60_000 });
    await store.create(request);
    const voted = await commandsSentDuring(async () => {
      await store.vote(request.id, 'U0ALICE', 'approve', now);
      await store.vote(request.id, 'U0BOB', 'approve', now);
    });
    // A worker of another process: it reads the option once, before its first script, then never again.
    const worker = new RequestStore(queue.redis, prefix);
    let claimed: Awaited<ReturnType<RequestStore['claim']>> | undefined;
    let started: string | undefined;
    let read: Awaited<ReturnType<RequestStore['get']>> | undefined;
    const ran = await commandsSentDuring(async () => {
      claimed = await worker.claim(request.id, 'runner-1', now, 30_000);
      started = await worker.step(request.id, 'runner-1', 1, 'start', 'step 1', now);
      read = await worker.get(request.id);
    });

    expect(voted).toEqual(['eval', 'eval']);
    expect(claimed?.result).toBe('claimed');
    expect(started).toBe('ok');
    expect(ran).toEqual(['get', 'eval', 'eval', 'get']);
    expect(read?.option).toEqual(request.option);
    expect(claimed?.request?.option).toEqual(request.option);
    expect(read).toMatchObject({ status: 'running', runner: 'runner-1', step: 1 });
    // A process that never saw it reads the request whole.
    expect((await new RequestStore(queue.redis, prefix).get(request.id))?.option).toEqual(request.option);
  });
});
