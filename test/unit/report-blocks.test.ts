import { describe, expect, it } from 'vitest';
import { FINDING_CODES, type Report } from '../../src/core/report.js';
import { LIMITS } from '../../src/slack/blocks/limits.js';
import { type ReportView, reportMessage } from '../../src/slack/blocks/report-blocks.js';

const id = (n: number) => n.toString(16).padStart(40, 'a');

/** A made-up disaster: 64 nodes, 300 gap ranges, 40 open slots, a finding of every code several times. */
function hugeReport(): Report {
  const nodes = Array.from({ length: 64 }, (_, i) => ({
    id: id(i),
    address: `10.0.${Math.floor(i / 10)}.${i}:6379`,
    role: i < 32 ? ('master' as const) : ('replica' as const),
    flags: i % 7 === 0 ? ['master', 'fail'] : [i < 32 ? 'master' : 'slave'],
    reachable: i % 7 !== 0,
    error: i % 7 === 0 ? 'connection refused' : null,
    slots:
      i < 32
        ? [[i * 512, i * 512 + 100] as [number, number], [i * 512 + 200, i * 512 + 300] as [number, number]]
        : [],
    replicaOf: i < 32 ? null : id(i - 32),
    othersSee: null,
    configEpoch: i,
    linkState: 'connected' as const,
    clusterState: 'fail' as const,
    knownNodes: 64,
    version: '7.0.15',
    replicationOffset: 1000,
    replicaLinkUp: i < 32 ? null : false,
    replicaSynced: i < 32 ? null : true,
    replicaLinkDownSeconds: i < 32 ? null : 40,
    replicaUpToDate: i < 32 ? null : false,
    listedBy: [],
    dbsize: 12345,
    latencyMs: 3,
  }));
  return {
    state: 'fail',
    probedAt: '2026-11-25T22:00:00.000Z',
    durationMs: 812,
    seeds: ['10.0.0.1:6379'],
    slots: {
      covered: 9000,
      uncovered: 7384,
      gaps: Array.from({ length: 300 }, (_, i) => ({
        start: i * 50,
        end: i * 50 + 20,
        reason: i % 2 === 0 ? ('owner-failed' as const) : ('unassigned' as const),
        owner: i % 2 === 0 ? id(i % 64) : null,
        keys: i % 3 === 0 ? null : i * 7,
      })),
    },
    movingSlots: [],
    slotClaims: [],
    openSlots: Array.from({ length: 40 }, (_, i) => ({
      slot: 15_000 + i,
      state: i % 2 === 0 ? ('migrating' as const) : ('importing' as const),
      node: id(i),
      peer: id(i + 1),
      nodeRole: 'master' as const,
      nodeKeys: i,
      peerKeys: 40 - i,
      live: false,
    })),
    nodes,
    findings: FINDING_CODES.flatMap((code, i) =>
      Array.from({ length: 5 }, (_, j) => ({
        code,
        severity: (['error', 'warning', 'info'] as const)[(i + j) % 3] ?? 'error',
        summary: `${code} number ${j}: ${'a long explanation of what is wrong with <this> & that node '.repeat(12)}`,
        nodes: [id(j)],
        slots: [[j, j + 10] as [number, number]],
        next: 'Do the thing that fixes it. '.repeat(20),
        runbook: 'The runbook line it comes from.',
        details: [],
      })),
    ),
    config: [],
    keyCounts: [],
    countedSlots: [],
    currentEpoch: 64,
  };
}

type AnyBlock = { type: string; text?: { type: string; text: string }; elements?: { text: string }[] };

describe('reportMessage', () => {
  it.each<ReportView>(['status', 'slots', 'nodes', 'check'])(
    'keeps a huge broken report inside Block Kit limits (%s)',
    (view) => {
      const message = reportMessage(hugeReport(), 'prod-eu-1', view);
      const blocks = message.blocks as AnyBlock[];

      expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
      expect(JSON.stringify(blocks).length).toBeLessThanOrEqual(LIMITS.totalChars);
      for (const block of blocks) {
        if (block.type === 'header') expect(block.text?.text.length).toBeLessThanOrEqual(LIMITS.header);
        if (block.type === 'section') expect(block.text?.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
        for (const element of block.elements ?? [])
          expect(element.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
      }
      expect(message.text.length).toBeGreaterThan(10);
      expect(blocks.at(-1)?.type).toBe('context');
    },
  );

  it('says what it left out and where to see it', () => {
    const text = JSON.stringify(reportMessage(hugeReport(), 'prod-eu-1', 'check').blocks);
    expect(text).toMatch(/… and \d+ more ranges: `\/redis check prod-eu-1` or `slotwatch check`/);
    expect(text).toMatch(
      /… and \d+ more findings: `\/redis check prod-eu-1` or `slotwatch check 10\.0\.0\.1:6379`/,
    );
    expect(text).toMatch(/… and \d+ more open slots/);
    expect(text).toContain('&lt;this&gt; &amp; that');
  });

  it('escapes what nodes said inside tables: an error text cannot ping the channel', () => {
    const report = hugeReport();
    const hostile = {
      ...report,
      nodes: report.nodes.map((n, i) =>
        i === 0 ? { ...n, reachable: false, error: '<!channel> <https://evil.example|approve>' } : n,
      ),
    };
    const text = JSON.stringify(reportMessage(hostile, 'prod-eu-1', 'nodes').blocks);
    expect(text).toContain('&lt;!channel&gt; &lt;https://evil.example|approve&gt;');
    expect(text).not.toContain('<!channel>');
  });

  it('shows the state at a glance in the header and the fallback text', () => {
    const message = reportMessage(hugeReport(), 'prod-eu-1', 'status');
    expect((message.blocks[0] as AnyBlock).text?.text).toBe(':red_circle: prod-eu-1: CLUSTERDOWN');
    expect(message.text).toMatch(/^prod-eu-1: CLUSTERDOWN — 9000\/16384 slots covered, 7384 uncovered; /);
  });
});

describe('requestMessage', () => {
  it('asks every approver of a data-loss repair to confirm the loss, naming the slots', async () => {
    const { requestMessage } = await import('../../src/slack/blocks/repair-blocks.js');
    const message = requestMessage({
      id: 'rq-1',
      cluster: 'prod',
      option: {
        id: 'take-over-aaaa',
        kind: 'take-over-slots',
        title: 'Give the slots away',
        explanation: 'x',
        risk: 'data-loss',
        loss: { slots: [[0, 5460]], keys: 1200, description: 'every key in 0-5460 (1200 keys)' },
        steps: [],
        nodes: [],
        expected: '',
        fingerprint: 'f',
      },
      requester: 'U0REQ0001',
      channel: 'C1',
      ts: '1.1',
      createdAt: 0,
      expiresAt: 1_800_000,
      required: 2,
      status: 'pending',
      approvals: [{ user: 'U0APP0001', at: 1000 }],
      rejectedBy: null,
      cancelledBy: null,
      outcome: null,
      version: 1,
      runner: null,
      heartbeatAt: null,
      step: null,
      finished: [],
      cancelRequested: null,
    });
    const text = JSON.stringify(message.blocks);
    expect(text).toContain(
      '"confirm":{"title":{"type":"plain_text","text":"Approve a repair that loses data?"}',
    );
    expect(text).toContain('in slots 0-5460');
    expect(text).toContain('1/2: <@U0APP0001>');
    expect(text).toContain('Loses data:');
  });
});
