import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countLines, parseClusterNodes, parseClusterNodesInBatches } from '../../src/core/cluster-nodes.js';
import { TimeSlicer } from '../../src/core/time-slices.js';

const line = (n: number, self = false) =>
  `${n.toString(16).padStart(40, '0')} 127.0.0.1:${7000 + n}@${17000 + n} ${self ? 'myself,' : ''}master - 0 0 ${n} connected`;

describe('countLines', () => {
  it.each([
    ['', 0],
    ['a', 1],
    ['a\n', 1],
    ['a\nb', 2],
    ['a\r\nb\r\n', 2],
    ['\n\n\n', 3],
  ])('counts %j as %i lines', (text, lines) => {
    expect(countLines(text)).toBe(lines);
  });

  it('stops counting just past the bound', () => {
    expect(countLines('x\n'.repeat(1_000_000), 10)).toBe(11);
  });
});

describe('parseClusterNodesInBatches', () => {
  it('gives what parseClusterNodes gives for any reply and batch size', async () => {
    const lines = fc.array(
      fc.oneof(
        fc.nat({ max: 5000 }).map((n) => line(n)),
        fc.constant(''),
        fc.string({ maxLength: 30 }),
      ),
      { maxLength: 30 },
    );
    await fc.assert(
      fc.asyncProperty(
        lines,
        fc.nat({ max: 30 }),
        fc.integer({ min: 1, max: 7 }),
        async (rest, at, batch) => {
          const all = [...rest];
          all.splice(at % (all.length + 1), 0, line(9999, true));
          const text = all.join(at % 2 === 0 ? '\n' : '\r\n');

          expect(await parseClusterNodesInBatches(text, batch)).toEqual(parseClusterNodes(text));
        },
      ),
    );
  });

  it('yields to the event loop between batches once its slice is used up', async () => {
    const text = [line(0, true), ...Array.from({ length: 999 }, (_, i) => line(i + 1))].join('\n');
    let turns = 0;
    let parsing = true;
    const otherWork = () => {
      turns++;
      if (parsing) setImmediate(otherWork);
    };
    setImmediate(otherWork);

    const parsed = await parseClusterNodesInBatches(text, 10, undefined, { slicer: new TimeSlicer(0) });
    parsing = false;

    expect(parsed.ok && parsed.value).toHaveLength(1000);
    expect(turns).toBeGreaterThanOrEqual(99);
  });

  it('gives up at the deadline, saying how many lines it read', async () => {
    const text = [line(0, true), ...Array.from({ length: 999 }, (_, i) => line(i + 1))].join('\n');
    let clock = 0;

    const parsed = await parseClusterNodesInBatches(text, 100, undefined, {
      slicer: new TimeSlicer(0),
      deadlineAt: 3,
      now: () => ++clock,
    });

    expect(parsed).toEqual({ ok: false, error: expect.objectContaining({ code: 'LATE', linesRead: 300 }) });
  });

  it('names the first bad line and stops there', async () => {
    const text = [line(0, true), line(1), '0-99999 -5 abc', 'also bad'].join('\n');

    const parsed = await parseClusterNodesInBatches(text, 1);

    expect(parsed).toMatchObject({ ok: false, error: { line: 3, input: '0-99999 -5 abc' } });
  });
});
