import { describe, expect, it } from 'vitest';
import { compareAddresses } from '../../src/core/topology.js';

const sorted = (addresses: readonly string[]) => [...addresses].sort(compareAddresses);

describe('compareAddresses (the order nodes are listed in)', () => {
  it('reads runs of digits as numbers: ports and octets in numeric order', () => {
    expect(
      sorted(['127.0.0.1:7010', '127.0.0.1:7002', '127.0.0.1:700', '10.0.0.9:7000', '9.0.0.1:1']),
    ).toEqual(['9.0.0.1:1', '10.0.0.9:7000', '127.0.0.1:700', '127.0.0.1:7002', '127.0.0.1:7010']);
  });

  it('orders names case-insensitively, with numbered pods by number, and leading zeros by value', () => {
    expect(
      sorted(['redis-10.svc:6379', 'Redis-2.svc:6379', 'redis-1.svc:6379', 'redis-01.svc:6380']),
    ).toEqual(['redis-1.svc:6379', 'redis-01.svc:6380', 'Redis-2.svc:6379', 'redis-10.svc:6379']);
    expect(compareAddresses('a:1', 'a:1')).toBe(0);
    expect(compareAddresses('a:1', 'a:1x')).toBeLessThan(0);
    expect(compareAddresses('[::1]:7001', '[::1]:7000')).toBeGreaterThan(0);
  });
});
