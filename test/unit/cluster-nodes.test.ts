import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from '../../src/core/cluster-nodes.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const ID = (c: string) => c.repeat(40);

describe('parseClusterNodes', () => {
  it('parses captured Redis 7.0 output with a migrating slot on the myself line', () => {
    const parsed = parseClusterNodes(fixture('cluster-nodes-migrating.txt'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const self = parsed.value.find((n) => n.myself);
    expect(parsed.value).toHaveLength(6);
    expect(self).toMatchObject({
      id: '80a7e64bfa7219793912f1d012bdc847432e8be0',
      address: '127.0.0.1:34030',
      busPort: 48462,
      role: 'master',
      slots: [[0, 5460]],
      migrating: [{ slot: 77, peer: 'ac115e3b297edeb67cd879867798eac81f413ae2' }],
      importing: [],
      configEpoch: 1,
      linkState: 'connected',
    });
    expect(parsed.value.filter((n) => n.role === 'replica').map((n) => n.masterId)).toHaveLength(3);
  });

  it('parses an importing slot and FAIL flags with disconnected links', () => {
    const importing = parseClusterNodes(fixture('cluster-nodes-importing.txt'));
    const failed = parseClusterNodes(fixture('cluster-nodes-master-failed.txt'));
    if (!importing.ok || !failed.ok) throw new Error('fixture did not parse');
    expect(importing.value.find((n) => n.myself)?.importing).toEqual([
      { slot: 77, peer: '80a7e64bfa7219793912f1d012bdc847432e8be0' },
    ]);
    const dead = failed.value.find((n) => n.id === 'dec35b90f672167bdfb5d7c9f39a1ee4b250ef0a');
    expect(dead).toMatchObject({
      flags: ['master', 'fail'],
      linkState: 'disconnected',
      slots: [[10922, 16383]],
    });
    expect(dead?.pingSent).toBe(1795644998453);
  });

  it('accepts Redis 7.2 and Valkey hostnames and aux fields', () => {
    const text = [
      `${ID('a')} 10.0.0.1:6379@16379,redis-0.redis,shard-id=${ID('e')},tls-port=0 myself,master - 0 0 1 connected 0-16383`,
      `${ID('b')} 10.0.0.2:6379@16379,,tls-port=0,shard-id=${ID('e')} slave,nofailover ${ID('a')} 0 1700000000000 1 connected`,
    ].join('\n');
    const parsed = parseClusterNodes(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.value[0]).toMatchObject({
      hostname: 'redis-0.redis',
      aux: { 'shard-id': ID('e'), 'tls-port': '0' },
    });
    expect(parsed.value[1]).toMatchObject({
      hostname: null,
      flags: ['slave', 'nofailover'],
      role: 'replica',
    });
  });

  it('handles noaddr, handshake, PFAIL, noflags and IPv6 addresses', () => {
    const text = [
      `${ID('a')} ::1:7000@17000 myself,master - 0 0 1 connected 0-100 200`,
      `${ID('b')} :0@0 master,fail,noaddr - 1 1 2 disconnected`,
      `${ID('c')} 127.0.0.1:7002@17002 handshake - 0 0 0 connected`,
      `${ID('d')} [fe80::1]:7003@17003 master,fail? - 5 0 3 connected 101-199`,
      `${ID('f')} 127.0.0.1:7004@17004 noflags - 0 0 0 connected`,
    ].join('\r\n');
    const parsed = parseClusterNodes(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const [a, b, c, d, f] = parsed.value;
    expect(a).toMatchObject({
      host: '::1',
      port: 7000,
      address: '::1:7000',
      slots: [
        [0, 100],
        [200, 200],
      ],
    });
    expect(b).toMatchObject({ address: null, flags: ['master', 'fail', 'noaddr'] });
    expect(c).toMatchObject({ role: 'unknown', flags: ['handshake'] });
    expect(d).toMatchObject({ host: 'fe80::1', flags: ['master', 'fail?'] });
    expect(f?.flags).toEqual([]);
  });

  it.each([
    ['', 'lists no node'],
    ['hello world', 'expected at least 8 fields'],
    [`${ID('a')} 127.0.0.1 myself,master - 0 0 1 connected`, 'has no port'],
    [`zz 127.0.0.1:1@2 myself,master - 0 0 1 connected`, 'node id'],
    [`${ID('a')} 127.0.0.1:1@2 myself,master - 0 0 1 sleepy`, 'link state'],
    [`${ID('a')} 127.0.0.1:1@2 myself,master - 0 0 1 connected 16384`, 'out of range'],
    [`${ID('a')} 127.0.0.1:1@2 myself,master - 0 0 1 connected 10-5`, 'out of range'],
    [`${ID('a')} 127.0.0.1:1@2 myself,master - 0 0 1 connected [5->-abc]`, 'not a slot'],
    [`${ID('a')} 127.0.0.1:1@2 master - 0 0 1 connected`, 'exactly one "myself"'],
    [`${ID('a')} 127.0.0.1:1@2 myself,master notanid 0 0 1 connected`, 'neither "-" nor a node id'],
    [`${ID('a')} 127.0.0.1:1@2 myself,master - x 0 1 connected`, 'must be integers'],
  ])('returns a typed parse error for %j', (text, message) => {
    const parsed = parseClusterNodes(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.code).toBe('PARSE_ERROR');
    expect(parsed.error.what).toBe('cluster-nodes');
    expect(parsed.error.message).toContain(message);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const parsed = parseClusterNodes(text);
        expect(typeof parsed.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back every field of generated lines', () => {
    const hex = fc.stringMatching(/^[0-9a-f]{40}$/);
    const range = fc.tuple(fc.integer({ min: 0, max: 16383 }), fc.integer({ min: 0, max: 200 }));
    fc.assert(
      fc.property(
        hex,
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.subarray(['fail?', 'fail', 'nofailover']),
        fc.nat({ max: 1000 }),
        fc.array(range, { maxLength: 5 }),
        (id, port, busPort, extraFlags, epoch, ranges) => {
          const slots = ranges.map(([start, length]) => [start, Math.min(16383, start + length)] as const);
          const tokens = slots.map(([s, e]) => (s === e ? `${s}` : `${s}-${e}`));
          const line = `${id} 127.0.0.1:${port}@${busPort} ${['myself', 'master', ...extraFlags].join(',')} - 0 0 ${epoch} connected ${tokens.join(' ')}`;
          const parsed = parseClusterNodes(line);
          if (!parsed.ok) throw new Error(parsed.error.message);
          const [node] = parsed.value;
          expect(node).toMatchObject({
            id,
            port,
            busPort,
            configEpoch: epoch,
            flags: ['myself', 'master', ...extraFlags],
          });
          const covered = new Set(
            slots.flatMap(([s, e]) => Array.from({ length: e - s + 1 }, (_, i) => s + i)),
          );
          const parsedSlots = new Set(
            (node?.slots ?? []).flatMap(([s, e]) => Array.from({ length: e - s + 1 }, (_, i) => s + i)),
          );
          expect(parsedSlots).toEqual(covered);
        },
      ),
    );
  });
});
