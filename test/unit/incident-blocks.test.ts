import { describe, expect, it } from 'vitest';
import type { Finding, Report } from '../../src/core/report.js';
import type { IncidentView } from '../../src/jobs/incidents.js';
import { healthyAlertMessage } from '../../src/slack/blocks/alert-blocks.js';
import { incidentMessage } from '../../src/slack/blocks/incident-blocks.js';
import { masterReport } from '../support/report-fixtures.js';

const node = masterReport;
const finding = (code: Finding['code'], next: string, nodes: string[] = []): Finding => ({
  code,
  severity: 'error',
  summary: `${code} <summary>`,
  nodes,
  slots: [],
  next,
  runbook: 'quoted runbook line',
  details: [],
});
const [A, B, C] = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)];

/** A master and its only replica dead: 5461 slots down, keys unknown. */
const report: Report = {
  state: 'fail',
  probedAt: '2026-11-25T22:35:34.811Z',
  durationMs: 57,
  seeds: ['10.0.0.3:6379'],
  slots: {
    covered: 10923,
    uncovered: 5461,
    gaps: [{ start: 0, end: 5460, reason: 'owner-failed', owner: A, keys: null }],
  },
  openSlots: [],
  movingSlots: [],
  slotClaims: [],
  nodes: [
    node({
      id: A,
      address: '10.0.0.1:<6379>',
      flags: ['master', 'fail'],
      reachable: false,
      error: 'refused',
      slots: [[0, 5460]],
    }),
    node({
      id: B,
      address: '10.0.0.2:6379',
      role: 'replica',
      flags: ['slave', 'fail'],
      reachable: false,
      error: 'refused',
      replicaOf: A,
    }),
    node({ id: C, address: '10.0.0.3:6379', slots: [[5461, 16383]] }),
  ],
  findings: [
    finding('CLUSTER_DOWN', 'fix the gaps below first', [C]),
    finding('NODE_FAILED', 'check the host', [A]),
    finding('SLOTS_OWNER_FAILED', 'Restart 10.0.0.1:6379 from its RDB/AOF', [A]),
  ],
  config: [],
  keyCounts: [],
  countedSlots: [],
  currentEpoch: 3,
};

const OPENED = Date.UTC(2026, 10, 25, 22, 30);
const view = (over: Partial<IncidentView> = {}): IncidentView => ({
  cluster: 'prod',
  report,
  problem: '',
  trigger: { cluster: 'prod', source: 'alertmanager', status: 'firing', summary: 'RedisClusterDown <!here>' },
  openedAt: OPENED,
  now: OPENED + 4 * 60_000 + 10_000,
  owner: null,
  alerts: [],
  recoveredAfterMinutes: null,
  ...over,
});
const texts = (blocks: unknown[]) =>
  blocks.map((b) => JSON.stringify(b)).map((j) => JSON.parse(j) as { type: string; text?: { text: string } });

describe('incidentMessage', () => {
  it('says state, slots down and age in the header, then impact, next step and one line per dead node', () => {
    const { blocks, text } = incidentMessage(view(), { fixButton: true });
    const [title, , impact, next, nodes] = texts(blocks);
    const footer = JSON.stringify(incidentMessage(view()).attachments);

    expect(title?.text?.text).toBe(':red_circle: prod · CLUSTERDOWN · 5,461 slots (33%) down · open 4 min');
    expect(impact?.text?.text).toBe(
      '*Impact:* 5,461 slots are down (0-5460; owner failed) · keys at risk unknown (no live node could count them)',
    );
    expect(next?.text?.text).toBe('*Next:* Restart 10.0.0.1:6379 from its RDB/AOF');
    expect(nodes?.text?.text).toBe(
      '• `10.0.0.1:&lt;6379&gt;` master of 0-5460: FAIL, refused; its replica `10.0.0.2:6379` too',
    );
    expect(blocks.length).toBeLessThanOrEqual(8);
    expect(footer).toContain('3 errors, 0 warnings');
    expect(text).toBe(
      ':rotating_light: Incident: prod: CLUSTERDOWN — 10923/16384 slots covered, 5461 uncovered · open 4 min',
    );
  });

  it('shows who is on it with Slack dates, counts with right plurals, and escapes the alert text', () => {
    const json = JSON.stringify(
      incidentMessage(view({ owner: { user: 'U0ALICE01', at: OPENED + 60_000 } }), { fixButton: true }),
    );

    expect(json).toContain(':raising_hand: <@U0ALICE01> is on it since <!date^');
    expect(json).toContain(`opened <!date^${OPENED / 1000}^`);
    expect(json).toContain('RedisClusterDown &lt;!here&gt;');
    expect(json).toContain('3 errors, 0 warnings');
    expect(json).toContain('"text":"Take it over"');
    expect(json).not.toMatch(/probed 2026-11-25T/);
  });

  it('says "1 slot is" for one slot, and drops the buttons once recovered', () => {
    const one: Report = {
      ...report,
      slots: {
        covered: 16383,
        uncovered: 1,
        gaps: [{ start: 7, end: 7, reason: 'unassigned', owner: null, keys: 1 }],
      },
      findings: [finding('SLOTS_UNASSIGNED', 'give it back')],
    };
    const open = JSON.stringify(incidentMessage(view({ report: one })));
    const recovered = incidentMessage(view({ recoveredAfterMinutes: 12 }));

    expect(open).toContain('*Impact:* 1 slot is down (7; unassigned) · 1 key at risk');
    expect(open).toContain('1 error, 0 warnings');
    expect(texts(recovered.blocks)[0]?.text?.text).toBe(':white_check_mark: prod · recovered after 12 min');
    expect(recovered.blocks.some((b) => b.type === 'actions')).toBe(false);
  });
});

describe('reportMessage dates and counts', () => {
  it('shows the probe time as a Slack date and counts with right plurals', async () => {
    const { reportMessage } = await import('../../src/slack/blocks/report-blocks.js');
    const single: Report = { ...report, findings: [finding('SLOTS_OWNER_FAILED', 'restart it', [A])] };

    const json = JSON.stringify(reportMessage(single, 'prod', 'status').blocks);

    expect(json).toContain('3 nodes · 1 error, 0 warnings');
    expect(json).toContain(`probed <!date^${Math.floor(Date.parse(report.probedAt) / 1000)}^`);
    expect(json).not.toContain('probed 2026-11-25 22:35:34Z');
  });
});

describe('severity colour and alert context', () => {
  const RED = '#D92D20';
  const ORANGE = '#F79009';
  const GREEN = '#2EB67D';
  const warning: Finding = { ...finding('MASTER_NO_REPLICA', 'add a replica'), severity: 'warning' };
  const healthy: Report = {
    ...report,
    state: 'ok',
    slots: { covered: 16384, uncovered: 0, gaps: [] },
    nodes: [node({ id: C, address: '10.0.0.3:6379', slots: [[0, 16383]], clusterState: 'ok' })],
    findings: [],
  };
  const alert = {
    name: 'RedisClusterDown <!here>',
    status: 'firing',
    severity: 'critical',
    summary: 'state <@U0ADMIN> & down',
    links: [
      { kind: 'runbook', url: 'https://runbooks.example/redis' },
      { kind: 'source', url: 'http://prometheus:9090/graph' },
    ],
  } as const;

  it.each([
    ['a CLUSTERDOWN incident', view(), RED],
    ['one that cannot be read', view({ report: null, problem: 'no seed answered' }), RED],
    ['warnings only', view({ report: { ...healthy, findings: [warning] } }), ORANGE],
    ['the recovery', view({ report: healthy, recoveredAfterMinutes: 3 }), GREEN],
  ])('colours %s', (_name, shown, colour) => {
    expect(incidentMessage(shown).attachments.map((a) => a.color)).toEqual([colour]);
  });

  it('shows the alert escaped, with its links as URL buttons after the incident buttons', () => {
    const message = incidentMessage(view({ alerts: [alert] }));
    const json = JSON.stringify(message.blocks);
    const actions = message.blocks.find((b) => b.type === 'actions') as unknown as {
      elements: Record<string, unknown>[];
    };

    expect(json).toContain(
      ':bell: *RedisClusterDown &lt;!here&gt;* · critical · firing: state &lt;@U0ADMIN&gt; &amp; down',
    );
    expect(actions.elements.map((e) => e.url ?? e.action_id)).toEqual([
      'ack_incident',
      'silence_incident',
      'https://runbooks.example/redis',
      'http://prometheus:9090/graph',
    ]);
    expect(actions.elements.slice(2).map((e) => e.action_id)).toEqual(['incident_link_0', 'incident_link_1']);
  });

  it('keeps several alerts to one line: the newest in full (summary cut), the others by name', () => {
    const long = { ...alert, summary: 's'.repeat(400) };
    const others = [
      { ...alert, name: 'RedisDown', links: [] },
      { ...alert, name: 'RedisClusterSlotFail', status: 'resolved', links: [] },
    ] as const;

    const json = JSON.stringify(incidentMessage(view({ alerts: [long, ...others] })).blocks);

    expect(json).toContain(
      `· critical · firing: ${'s'.repeat(159)}… · and 2 more alerts: RedisDown (firing), RedisClusterSlotFail (resolved)`,
    );
  });

  it('says an alert fired on a healthy cluster in one short green post', () => {
    const message = healthyAlertMessage({
      cluster: 'prod',
      report: healthy,
      alerts: [alert],
      trigger: { cluster: 'prod', source: 'alertmanager', status: 'firing', summary: '' },
    });

    expect(message.text).toBe(
      'RedisClusterDown &lt;!here&gt; fired, but Slotwatch sees prod healthy: all 16384 slots served',
    );
    expect(message.blocks.length).toBeLessThanOrEqual(3);
    expect(JSON.stringify(message.blocks)).toContain(
      'Slotwatch sees *prod* healthy: all 16384 slots served, cluster_state ok on every node',
    );
    expect(message.attachments.map((a) => a.color)).toEqual([GREEN]);
    expect(JSON.stringify(message.attachments)).toMatch(/checked <!date\^\d+\^/);
  });
});
