import { describe, expect, it } from 'vitest';
import { runSteps, runStepsSliced, type Steps, TimeSlicer } from '../../src/core/time-slices.js';

function* counting(n: number): Steps<number> {
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += i;
    yield;
  }
  return total;
}

describe('TimeSlicer', () => {
  it('does not yield while its slice lasts', async () => {
    let clock = 0;
    const slicer = new TimeSlicer(10, () => clock);
    let turns = 0;
    setImmediate(() => turns++);

    clock = 9;
    await slicer.pause();

    expect(turns).toBe(0);
  });

  it('lets the event loop run between the slices of work that shares it, one slice per turn', async () => {
    let clock = 0;
    const slicer = new TimeSlicer(10, () => clock);
    const order: string[] = [];
    const worker = async (name: string) => {
      for (let slice = 0; slice < 3; slice++) {
        order.push(name);
        clock += 10;
        await slicer.pause();
      }
    };
    let ticking = true;
    const tick = () => {
      order.push('loop');
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);

    await Promise.all([worker('a'), worker('b')]);
    ticking = false;

    const slices = order
      .join(' ')
      .split('loop')
      .map((turn) => turn.trim());
    expect(slices.every((turn) => turn.split(' ').filter(Boolean).length <= 2)).toBe(true);
    expect(order.filter((o) => o !== 'loop')).toHaveLength(6);
  });
});

describe('runSteps', () => {
  it('gives the same result at once and in slices', async () => {
    expect(runSteps(counting(1000))).toBe(499_500);
    expect(await runStepsSliced(counting(1000), new TimeSlicer(0))).toBe(499_500);
  });
});
