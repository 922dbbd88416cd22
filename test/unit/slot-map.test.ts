import { mkdirSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report.js';
import { CELL, COLORS, cellOrigin, legendBox, slotMapPng } from '../../src/render/slot-map.js';

/** Reads back an 8-bit RGB, non-interlaced PNG (what slotMapPng writes). */
function decode(png: Buffer): { width: number; height: number; at: (x: number, y: number) => number[] } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8, 13)]).toEqual([8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const rows = inflateSync(Buffer.concat(idat));
  return {
    width,
    height,
    at: (x, y) => [...rows.subarray(y * (width * 3 + 1) + 1 + x * 3, y * (width * 3 + 1) + 1 + x * 3 + 3)],
  };
}

const id = (n: number) => String(n).repeat(40);
const node = (n: number, slots: [number, number][]) => ({
  id: id(n),
  address: `10.0.0.${n}:6379`,
  role: 'master' as const,
  flags: ['master'],
  reachable: true,
  error: null,
  slots,
  replicaOf: null,
  othersSee: null,
  configEpoch: n,
  linkState: 'connected' as const,
  clusterState: 'fail' as const,
  knownNodes: 3,
  version: '7.0.15',
  replicationOffset: 0,
  replicaLinkUp: null,
  replicaSynced: null,
  replicaLinkDownSeconds: null,
  replicaUpToDate: null,
  listedBy: [],
  dbsize: 0,
  latencyMs: 1,
});

const report: Report = {
  state: 'fail',
  probedAt: '2026-11-25T22:00:00.000Z',
  durationMs: 10,
  seeds: ['10.0.0.1:6379'],
  slots: {
    covered: 10823,
    uncovered: 5561,
    gaps: [
      { start: 0, end: 5460, reason: 'owner-failed', owner: id(1), keys: null },
      { start: 6000, end: 6099, reason: 'unassigned', owner: null, keys: 25 },
    ],
  },
  movingSlots: [],
  slotClaims: [],
  openSlots: [
    {
      slot: 9000,
      state: 'migrating',
      node: id(2),
      peer: id(3),
      nodeRole: 'master',
      nodeKeys: 1,
      peerKeys: 1,
      live: false,
    },
  ],
  nodes: [
    node(1, [[0, 5460]]),
    node(2, [
      [5461, 5999],
      [6100, 10921],
    ]),
    node(3, [[10922, 16383]]),
  ],
  findings: [],
  config: [],
  keyCounts: [],
  countedSlots: [],
  currentEpoch: 3,
};

const centre = (slot: number) => {
  const [x, y] = cellOrigin(slot);
  return [x + CELL / 2, y + CELL / 2] as const;
};

describe('slotMapPng', () => {
  it('draws 16384 slots on a 128x128 grid with a legend below', () => {
    const png = slotMapPng(report, 'prod');
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/slot-map.png', png);
    const image = decode(png);
    expect(image.width).toBe(512);
    expect(image.height).toBe(512 + 92);
    expect(image.at(...centre(100))).toEqual([...COLORS.ownerFailed]);
    expect(image.at(...centre(6050))).toEqual([...COLORS.gap]);
    expect(image.at(...centre(9000))).toEqual([...COLORS.open]);
    const served = image.at(...centre(7000));
    const otherServed = image.at(...centre(12000));
    expect(served).not.toEqual(otherServed);
    expect([...COLORS.gap, ...COLORS.ownerFailed, ...COLORS.open]).not.toEqual(
      expect.arrayContaining([served]),
    );
    for (const [i, rgb] of [
      [1, COLORS.gap],
      [2, COLORS.ownerFailed],
      [3, COLORS.unreachable],
      [4, COLORS.open],
    ] as const) {
      const [x, y] = legendBox(i);
      expect(image.at(x + 7, y + 7)).toEqual([...rgb]);
    }
  });
});
