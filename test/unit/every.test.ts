import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { every } from '../../src/jobs/every.js';

describe('every (the background loops of the repair service)', () => {
  it('holds at most one abort listener however many ticks ran, and logs failing ticks', async () => {
    let ticks = 0;
    let listenersSeen = 0;
    const seen = new Set<AbortSignal>();
    const originalAdd = AbortSignal.prototype.addEventListener;
    // Watch the loop's own signal: count its listeners at every tick.
    AbortSignal.prototype.addEventListener = function (
      this: AbortSignal,
      ...args: Parameters<AbortSignal['addEventListener']>
    ) {
      seen.add(this);
      return originalAdd.apply(this, args);
    };
    const failures: unknown[] = [];
    let loop: ReturnType<typeof every>;
    try {
      loop = every(
        1,
        async () => {
          ticks++;
          for (const signal of seen)
            listenersSeen = Math.max(listenersSeen, getEventListeners(signal, 'abort').length);
          if (ticks % 10 === 0) throw new Error('a failing tick');
        },
        (error) => failures.push(error),
      );
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (ticks >= 60) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
    } finally {
      AbortSignal.prototype.addEventListener = originalAdd;
    }
    loop.stop();
    await loop.done;

    expect(ticks).toBeGreaterThanOrEqual(60);
    expect(listenersSeen).toBeLessThanOrEqual(1);
    expect(failures.length).toBeGreaterThanOrEqual(6);
  });

  it('ends a long wait as soon as it is stopped', async () => {
    let ticks = 0;
    const loop = every(
      3_600_000,
      async () => {
        ticks++;
      },
      () => {},
    );
    await new Promise((resolve) => setImmediate(resolve));
    loop.stop();
    // Resolves now; with the wait not interrupted this would hang for an hour (the test's timeout fails it).
    await loop.done;
    expect(ticks).toBe(1);
  });
});
