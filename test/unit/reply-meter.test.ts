import { describe, expect, it } from 'vitest';
import { ReplyMeter } from '../../src/core/reply-meter.js';

function meter(maxBytes: number) {
  const trips: number[] = [];
  const m = new ReplyMeter(maxBytes, () => trips.push(1));
  return { m, trips };
}

describe('ReplyMeter', () => {
  it('lets each request receive up to the limit, one after the other', () => {
    const { m, trips } = meter(100);

    for (let i = 0; i < 5; i++) {
      const token = m.begin();
      m.count(60);
      m.count(40);
      m.end(token);
    }

    expect(trips).toEqual([]);
    expect(m.exceeded).toBe(false);
  });

  it('trips once, on the chunk that passes the limit', () => {
    const { m, trips } = meter(100);

    m.begin();
    m.count(100);
    const before = m.exceeded;
    m.count(1);
    m.count(1000);

    expect(before).toBe(false);
    expect(m.exceeded).toBe(true);
    expect(trips).toEqual([1]);
  });

  it('counts from the oldest outstanding request while requests overlap', () => {
    const { m, trips } = meter(100);

    m.begin();
    m.count(70);
    m.begin();
    m.count(31);

    expect(trips).toEqual([1]);
  });

  it('stops counting a request once it is answered', () => {
    const { m } = meter(100);

    const first = m.begin();
    m.count(70);
    m.begin();
    m.end(first);
    m.count(100);

    expect(m.exceeded).toBe(false);
  });

  it('counts bytes nobody asked for against the limit too', () => {
    const { m } = meter(100);

    const token = m.begin();
    m.count(50);
    m.end(token);
    m.count(101);

    expect(m.exceeded).toBe(true);
  });
});
