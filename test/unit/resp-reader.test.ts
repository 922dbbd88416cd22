import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, ReplyError, RespReader } from '../../src/core/resp-reader.js';

type Value = string | number | null | ReplyError | Value[];

const valueArb: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.constant(null),
    fc.stringMatching(/^ERR [a-z ]{0,20}$/).map((m) => new ReplyError(m)),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
})).value;

function encode(value: Value): string {
  if (value === null) return '$-1\r\n';
  if (typeof value === 'number') return `:${value}\r\n`;
  if (value instanceof ReplyError) return `-${value.message}\r\n`;
  if (Array.isArray(value)) return `*${value.length}\r\n${value.map(encode).join('')}`;
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

function read(bytes: Buffer, cuts: number[], buffers = false): unknown[] {
  const replies: unknown[] = [];
  const reader = new RespReader({ buffers: () => buffers, reply: (value) => replies.push(value) });
  let from = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
    reader.push(bytes.subarray(from, cut));
    from = cut;
  }
  reader.push(bytes.subarray(from));
  return replies;
}

describe('RespReader', () => {
  it('reads the same replies however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(valueArb, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (values, cuts) => {
          const bytes = Buffer.from(values.map(encode).join(''));

          expect(read(bytes, cuts)).toEqual(values);
        },
      ),
    );
  });

  it('gives bulk and status replies as Buffers when asked, and bytes as they are', () => {
    const bytes = Buffer.concat([
      Buffer.from('*2\r\n$2\r\n'),
      Buffer.from([0xff, 0x00]),
      Buffer.from('\r\n+OK\r\n'),
    ]);

    expect(read(bytes, [5, 9], true)).toEqual([[Buffer.from([0xff, 0x00]), Buffer.from('OK')]]);
  });

  it('refuses a reply type RESP2 does not have', () => {
    const reader = new RespReader({ buffers: () => false, reply: () => {} });

    expect(() => reader.push(Buffer.from('%1\r\n'))).toThrow(ProtocolError);
  });
});

describe('RespReader with long bulk strings', () => {
  const long = `${'node line ✓ é\n'.repeat(40_000)}end`;
  const bytes = Buffer.from(`*2\r\n${encode(long)}:7\r\n+OK\r\n`);
  /** The replies, with the long one replaced by whether it came out intact (a 600 kB diff helps nobody). */
  const summary = (replies: unknown[]) =>
    replies.map((reply) =>
      Array.isArray(reply)
        ? reply.map((item) =>
            Buffer.isBuffer(item) && item.length > 1000
              ? item.equals(Buffer.from(long))
              : item === long || item,
          )
        : reply,
    );

  it('reads a long bulk string, its multibyte characters split anywhere, as text and as bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        expect(summary(read(bytes, cuts))).toEqual([[true, 7], 'OK']);
        expect(summary(read(bytes, cuts, true))).toEqual([[true, 7], Buffer.from('OK')]);
      }),
      { numRuns: 30 },
    );
  });

  it('reads it in 64 KiB chunks, as a socket delivers it', () => {
    const cuts = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => i * 65_536);

    expect(summary(read(bytes, cuts))).toEqual([[true, 7], 'OK']);
  });
});
