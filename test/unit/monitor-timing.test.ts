import { describe, expect, it } from 'vitest';
import { monitorTiming } from '../../src/jobs/monitor-timing.js';

describe('monitorTiming', () => {
  it.each([
    [15_000, { lockDurationMs: 5000, stalledIntervalMs: 2500, freshMs: 7500 }],
    [3000, { lockDurationMs: 2000, stalledIntervalMs: 500, freshMs: 1500 }],
    [600_000, { lockDurationMs: 30_000, stalledIntervalMs: 30_000, freshMs: 300_000 }],
  ])('tunes the workers of a %i ms interval', (interval, expected) => {
    expect(monitorTiming(interval)).toEqual(expected);
  });

  it.each([3000, 15_000, 60_000])('hands a dead replica’s job out again within %i ms', (interval) => {
    const { lockDurationMs, stalledIntervalMs } = monitorTiming(interval);
    expect(lockDurationMs + stalledIntervalMs).toBeLessThan(interval);
  });
});
