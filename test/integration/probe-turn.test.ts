import { describe, expect, it } from 'vitest';
import { ProbeTurn } from '../../src/jobs/probe-turn.js';
import { useQueueRedis } from '../support/queue-redis.js';
import { waitFor } from '../support/wait.js';

const queue = useQueueRedis();
let n = 0;

/** A turn keeper of its own (a replica), on a prefix of its own per test. */
const replicas = (count: number, leaseMs = 1000) => {
  const prefix = `pt${++n}`;
  return Array.from(
    { length: count },
    () => new ProbeTurn({ redis: queue.redis, prefix, leaseMs, freshMs: 5000 }),
  );
};

describe('ProbeTurn', () => {
  it('hands an alert to the next look when another look holds the cluster for the whole wait, never throws', async () => {
    const prefix = `pt${++n}`;
    const [a, b] = [
      new ProbeTurn({ redis: queue.redis, prefix, leaseMs: 1000, freshMs: 5000 }),
      new ProbeTurn({ redis: queue.redis, prefix, leaseMs: 1000, freshMs: 5000, maxWaitMs: 300 }),
    ];
    let release = () => {};
    const held = a.run('prod', { id: '1', tick: false }, () => new Promise<void>((r) => (release = r)));
    await waitFor(
      'the first look to hold the cluster',
      async () => (await queue.redis.exists(`${prefix}:probe:lock:prod`)) === 1,
    );

    const waited = await b.run('prod', { id: '2', tick: false }, async () => 'looked');
    release();
    await held;

    expect(waited).toEqual({ ran: false, busy: true });
  });

  it('skips a tick for a cluster another job looked at moments ago, but not the same job run again', async () => {
    const [a, b] = replicas(2);
    const look = async () => 'looked';
    expect(await a?.run('prod', { id: '1', tick: true }, look)).toEqual({ ran: true, value: 'looked' });
    expect(await b?.run('prod', { id: '2', tick: true }, look)).toEqual({ ran: false });
    expect(await b?.run('prod', { id: '1', tick: true }, look)).toEqual({ ran: true, value: 'looked' });
    expect(await b?.run('other', { id: '3', tick: true }, look)).toEqual({ ran: true, value: 'looked' });
  });

  it('runs an alert even right after a tick, and the next tick then skips', async () => {
    const [a] = replicas(1);
    const look = async () => 'looked';
    await a?.run('prod', { id: '1', tick: true }, look);
    expect(await a?.run('prod', { id: '2', tick: false }, look)).toEqual({ ran: true, value: 'looked' });
    expect(await a?.run('prod', { id: '3', tick: true }, look)).toEqual({ ran: false });
  });

  it('never lets two replicas look at one cluster at once, however long a look takes', async () => {
    const [a, b] = replicas(2, 300);
    let inside = 0;
    let most = 0;
    const look = async () => {
      inside++;
      most = Math.max(most, inside);
      // Longer than the lease: renewals keep the other replica out.
      await new Promise((resolve) => setTimeout(resolve, 700));
      inside--;
    };
    await Promise.all([
      a?.run('prod', { id: '1', tick: false }, look),
      b?.run('prod', { id: '2', tick: false }, look),
    ]);
    expect(most).toBe(1);
  });
});
