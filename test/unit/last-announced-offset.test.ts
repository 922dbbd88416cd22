import { describe, expect, it } from 'vitest';
import type { NodeClient } from '../../src/core/connection.js';
import { shardOffsets } from '../../src/core/info.js';
import type { NodeView, Probe } from '../../src/core/probe.js';
import { lastAnnouncedOffsets } from '../../src/core/second-look.js';
import { buildTopology } from '../../src/core/topology.js';
import { deadView, type FakeNode, fakeId, fakeView, nodesText } from '../support/synthetic.js';

const A = fakeId(1);
const B = fakeId(2);
const RA = fakeId(11);
const RB = fakeId(12);
const nodes: FakeNode[] = [
  { id: A, port: 7000, role: 'master', slots: '0-8191', epoch: 1 },
  { id: B, port: 7001, role: 'master', slots: '8192-16383', epoch: 2 },
  { id: RA, port: 7003, role: 'slave', master: A, epoch: 1 },
  { id: RB, port: 7004, role: 'slave', master: B, epoch: 2 },
];

/** CLUSTER SHARDS as Redis 7 sends it over RESP2 (flat key/value arrays). */
const shards = (offsets: Record<string, number | string>) => [
  [
    'slots',
    [0, 8191],
    'nodes',
    Object.entries(offsets).map(([id, offset]) => [
      'id',
      id,
      'port',
      7000,
      'role',
      'master',
      'replication-offset',
      offset,
      'health',
      'online',
    ]),
  ],
];

function fakeClient(address: string, reply: unknown, calls: string[]): NodeClient {
  return {
    address,
    call: async (...args) => {
      calls.push(`${address} ${args.join(' ')}`);
      return reply;
    },
    pipeline: async () => [],
    close: () => {},
  };
}

function probeOf(views: NodeView[], replies: Record<string, unknown>, calls: string[]): Probe {
  const clients = new Map(
    views
      .filter((v) => v.reachable)
      .map((v) => [v.address, fakeClient(v.address, replies[v.address], calls)]),
  );
  return { clients } as unknown as Probe;
}

const deadline = { deadlineAt: Date.now() + 5000 };

describe('the last offset a silent master announced', () => {
  it('reads CLUSTER SHARDS only on the live replicas of a dead master, and takes the highest offset', async () => {
    const calls: string[] = [];
    const views = [
      deadView('127.0.0.1:7000'),
      ...nodes
        .filter((n) => n.id !== A)
        .map((n) =>
          fakeView(
            `127.0.0.1:${n.port}`,
            nodesText(nodes, n.id, (x) => (x.id === A ? ['fail'] : [])),
          ),
        ),
    ];
    const probe = probeOf(views, { '127.0.0.1:7003': shards({ [A]: 90_000, [B]: 10 ** 9 }) }, calls);

    const offsets = await lastAnnouncedOffsets(probe, buildTopology(views), deadline);

    expect(calls).toEqual(['127.0.0.1:7003 CLUSTER SHARDS']);
    expect(offsets).toEqual(new Map([[A, 90_000]]));
  });

  it('asks nothing of a healthy cluster', async () => {
    const calls: string[] = [];
    const views = nodes.map((n) => fakeView(`127.0.0.1:${n.port}`, nodesText(nodes, n.id)));

    const offsets = await lastAnnouncedOffsets(probeOf(views, {}, calls), buildTopology(views), deadline);

    expect(calls).toEqual([]);
    expect(offsets.size).toBe(0);
  });

  it('reads a hostile reply as data: wrong shapes, negative, fractional or huge offsets are ignored', () => {
    const ids = new Set([A]);
    const hostile: unknown[] = [
      null,
      'CLUSTER SHARDS',
      42,
      [['slots']],
      [['nodes', 'not an array']],
      [['nodes', [['id', A, 'replication-offset']]]],
      [['nodes', [[7, A, 'replication-offset', 5]]]],
      shards({ [A]: -5 }),
      shards({ [A]: 1.5 }),
      shards({ [A]: '' }),
      shards({ [A]: '12abc' }),
      shards({ [A]: '99999999999999999999' }),
      shards({ [A]: Number.MAX_SAFE_INTEGER + 2 }),
      new Error('ERR unknown subcommand'),
    ];

    for (const reply of hostile) expect(shardOffsets(reply, ids)).toEqual(new Map());
    expect(shardOffsets(shards({ [A]: '4096' }), ids)).toEqual(new Map([[A, 4096]]));
    expect(shardOffsets([...shards({ [A]: 7 }), ...shards({ [A]: 9, [B]: 11 })], ids)).toEqual(
      new Map([[A, 9]]),
    );
  });
});
