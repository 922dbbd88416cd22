import { describe, expect, it } from 'vitest';
import { planNotes } from '../../src/core/repair/planner.js';
import { emptyReport, masterReport } from '../support/report-fixtures.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const R = 'c'.repeat(40);

describe('planNotes', () => {
  it('says slots moving in a live resharding get nothing and how to wait', () => {
    const notes = planNotes(emptyReport({ movingSlots: [[100, 109]] }));

    expect(notes).toEqual([
      '10 slots are moving in a live resharding (100-109): nothing is offered for them while keys move. Wait until no slot is open (CLUSTER NODES shows no [slot->-…] or [slot-<-…]), then plan again.',
    ]);
  });

  it('says which slot needs a person, and why', () => {
    const report = emptyReport({
      nodes: [
        masterReport({ id: A, address: '10.0.0.1:6379', slots: [[0, 16383]], clusterState: 'ok' }),
        masterReport({ id: B, address: '10.0.0.2:6379', clusterState: 'ok' }),
        masterReport({ id: R, address: '10.0.0.3:6379', role: 'replica', replicaOf: A, flags: ['slave'] }),
      ],
      openSlots: [
        {
          slot: 42,
          state: 'migrating',
          node: R,
          peer: B,
          nodeRole: 'replica',
          nodeKeys: 0,
          peerKeys: 0,
          live: false,
        },
      ],
    });

    expect(planNotes(report)).toEqual([
      'slot 42 needs a person: only replicas show it open (stale state they clear when their master does).',
    ]);
  });

  it('has nothing to say about a healthy cluster', () => {
    expect(planNotes(emptyReport())).toEqual([]);
  });
});
