import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeFieldsMemo, parseClusterNodes } from '../../src/core/cluster-nodes.js';

const id = (n: number) => n.toString(16).padStart(40, '0');

const lineArb = fc.oneof(
  fc
    .record({
      n: fc.nat({ max: 20 }),
      self: fc.boolean(),
      role: fc.constantFrom('master', 'slave', 'master,fail', 'slave,fail?', 'handshake', 'noflags'),
      master: fc.oneof(fc.constant('-'), fc.nat({ max: 20 }).map(id), fc.constant('nope')),
      ping: fc.oneof(fc.nat({ max: 9 }).map(String), fc.constant('x')),
      pong: fc.nat().map(String),
      epoch: fc.nat({ max: 30 }).map(String),
      link: fc.constantFrom('connected', 'disconnected', 'sleepy'),
      slots: fc.array(
        fc.oneof(
          fc.constantFrom('0-5460', '5461', '16384', '10-5', '[77->-', 'x'),
          fc.nat({ max: 20 }).map((n) => `[${n * 7}->-${id(n)}]`),
          fc.nat({ max: 20 }).map((n) => `[${n * 7}-<-${id(n)}]`),
        ),
        { maxLength: 3 },
      ),
    })
    .map((l) =>
      [
        id(l.n),
        `127.0.0.1:${7000 + l.n}@${17000 + l.n},host${l.n},shard-id=${id(l.n % 3)}`,
        `${l.self ? 'myself,' : ''}${l.role}`,
        l.master,
        l.ping,
        l.pong,
        l.epoch,
        l.link,
        ...l.slots,
      ].join(' '),
    ),
  fc.string({ maxLength: 40 }),
);
const replyArb = fc.array(lineArb, { maxLength: 12 }).map((lines) => lines.join('\n'));

describe('parseClusterNodes with a shared memo', () => {
  it('parses a reply the same whatever other replies the memo has seen', () => {
    fc.assert(
      fc.property(fc.array(replyArb, { maxLength: 4 }), replyArb, (others, reply) => {
        const memo = new NodeFieldsMemo();
        for (const other of others) parseClusterNodes(other, memo);

        expect(parseClusterNodes(reply, memo)).toEqual(parseClusterNodes(reply));
      }),
      { numRuns: 500 },
    );
  });

  it('reads tabs, repeated, leading and trailing spaces as single spaces', () => {
    const spacing = fc.constantFrom(' ', '  ', '\t', ' \t ', '\u00a0');
    fc.assert(
      fc.property(fc.array(lineArb, { minLength: 1, maxLength: 6 }), spacing, spacing, (lines, gap, edge) => {
        const single = lines.join('\n');
        const spaced = lines.map((l) => `${edge}${l.split(' ').join(gap)}${edge}`).join('\r\n');
        const a = parseClusterNodes(single);
        const b = parseClusterNodes(spaced);

        expect(b.ok).toBe(a.ok);
        if (a.ok && b.ok) expect(b.value).toEqual(a.value);
        if (!a.ok && !b.ok) expect([b.error.line, b.error.message]).toEqual([a.error.line, a.error.message]);
      }),
      { numRuns: 500 },
    );
  });
});
