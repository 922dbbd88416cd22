import type { RespondArguments, RespondFn } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import type { AlertContext } from '../../src/alerts/payloads.js';
import { type ClusterConfig, loadConfig } from '../../src/config.js';
import type { Finding, Report } from '../../src/core/report.js';
import type { AuditLog } from '../../src/jobs/audit.js';
import type { IncidentService, IncidentView } from '../../src/jobs/incidents.js';
import type { RepairProgress } from '../../src/jobs/repair-progress.js';
import type { RequestStore } from '../../src/jobs/requests.js';
import type { Timeline, Timelines } from '../../src/jobs/timeline.js';
import { homeView } from '../../src/slack/app-home.js';
import type { Approvers } from '../../src/slack/approvers.js';
import { healthyAlertMessage } from '../../src/slack/blocks/alert-blocks.js';
import { incidentMessage } from '../../src/slack/blocks/incident-blocks.js';
import { esc } from '../../src/slack/blocks/limits.js';
import { optionsMessage, requestMessage } from '../../src/slack/blocks/repair-blocks.js';
import { reportMessage } from '../../src/slack/blocks/report-blocks.js';
import { timelineMessage } from '../../src/slack/blocks/timeline-blocks.js';
import { changeText, triggerText } from '../../src/slack/incident-poster.js';
import { auditCommand, jobsCommand, type RepairDeps } from '../../src/slack/repair-handlers.js';
import { silenceCommand } from '../../src/slack/silence-command.js';
import { timelineCommand } from '../../src/slack/timeline-command.js';
import { parseCommand } from '../../src/slack/usage.js';
import { emptyReport, masterReport } from '../support/report-fixtures.js';
import { optionFixture, requestFixture } from '../support/request-fixtures.js';

const HOSTILE = '<!channel> <@U0ADMIN> <https://evil.example|Approve here>';
/** What a node label, an alert or a person could send: a broadcast, a mention, a phishing link, markup. */
const EVIL = `${HOSTILE} & *bold*`;
const EVIL_ESCAPED =
  '&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|Approve here&gt; &amp; *bold*';

describe('esc', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<@U0ADMIN>', '&lt;@U0ADMIN&gt;'],
    ['<https://evil.example|Approve here>', '&lt;https://evil.example|Approve here&gt;'],
    ['a & b', 'a &amp; b'],
    ['&lt; already escaped', '&amp;lt; already escaped'],
    ['10.0.0.1:6379 *bold* _it_', '10.0.0.1:6379 *bold* _it_'],
  ])('escapes %j for mrkdwn', (text, escaped) => {
    expect(esc(text)).toBe(escaped);
  });
});

describe('incident texts', () => {
  const trigger = { cluster: 'prod', source: 'alertmanager', status: 'firing', summary: HOSTILE } as const;

  it('escapes the alert summary that triggered a look', () => {
    expect(triggerText(trigger)).toBe(
      'alertmanager firing: &lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|Approve here&gt;',
    );
  });

  it('never says the trigger twice ("monitor tick: monitor tick")', () => {
    expect(triggerText({ cluster: 'prod', source: 'monitor', status: 'tick', summary: 'monitor tick' })).toBe(
      'seen by the monitor',
    );
    expect(
      triggerText({ cluster: 'prod', source: 'generic', status: 'firing', summary: 'generic firing' }),
    ).toBe('generic firing');
  });

  it('escapes the alert summary and node addresses of a change', () => {
    const text = changeText({
      trigger,
      added: [`node <@U0ADMIN>:6379 FAIL`],
      gone: ['gap 0-99 unassigned'],
      changed: [{ subject: 'node <!here>:1', from: 'unreachable', to: 'FAIL', direction: 'worse' }],
    });
    expect(text).toContain('• new: node &lt;@U0ADMIN&gt;:6379 FAIL');
    expect(text).toContain('worse: node &lt;!here&gt;:1 was unreachable, now *FAIL*');
    expect(text).toContain('• cleared: gap 0-99 unassigned');
    expect(text).not.toMatch(/<[!@h]/);
  });
});

/** Keys whose strings Slack never shows as text. */
const NOT_TEXT = new Set([
  'type',
  'action_id',
  'block_id',
  'value',
  'url',
  'style',
  'color',
  'response_type',
]);

/** Every string Slack may show or notify with, anywhere in a message, a view or a respond() call. */
function texts(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const item of node) texts(item, out);
  else if (node && typeof node === 'object')
    for (const [key, value] of Object.entries(node)) if (!NOT_TEXT.has(key)) texts(value, out);
  return out;
}

/** Markup Slotwatch itself writes: dates, mentions of Slack user ids, channel links, Slack's own permalinks. */
const OWN_MARKUP = [
  /<!date\^\d+\^[^|>]*\|[^<>]*>/g,
  /<@U0(REQ|ALICE|BOB|CAROL)>/g,
  /<#C1>/g,
  /<https:\/\/acme\.slack\.com\/[^|<>]*\|[^<>]*>/g,
];

/** No `<`, `>` or bare `&` is left once Slotwatch's own markup is taken out, and the hostile text was there. */
function expectInert(message: unknown): void {
  const all = texts(message);
  expect(all.join('\n')).toContain('&lt;@U0ADMIN&gt;');
  for (const text of all) {
    const rest = OWN_MARKUP.reduce((s, re) => s.replace(re, ''), text);
    expect(rest, text).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
  }
}

const finding = (over: Partial<Finding> = {}): Finding => ({
  code: 'SLOTS_OWNER_FAILED',
  severity: 'error',
  summary: `slots 0-5460 belong to ${EVIL}:6379, which failed`,
  nodes: ['aaaaaaaa'],
  slots: [[0, 5460]],
  next: `restart ${EVIL}:6379 or fail it over`,
  runbook: 'CLUSTER NODES',
  details: [`${EVIL}:6379 sees it fail`],
  ...over,
});

const hostileReport = (over: Partial<Report> = {}): Report =>
  emptyReport({
    state: 'fail',
    seeds: [`${EVIL}:6379`],
    slots: {
      covered: 10_923,
      uncovered: 5461,
      gaps: [{ start: 0, end: 5460, reason: 'owner-failed', owner: 'aaaaaaaa11', keys: null }],
    },
    openSlots: [
      {
        slot: 7000,
        state: 'migrating',
        node: 'bbbbbbbb22',
        peer: 'aaaaaaaa11',
        nodeKeys: 1,
        peerKeys: 2,
        live: false,
      } as Report['openSlots'][number],
    ],
    nodes: [
      masterReport({
        id: 'aaaaaaaa11',
        address: `${EVIL}:6379`,
        flags: ['master', 'fail'],
        reachable: false,
        error: `connect ECONNREFUSED ${EVIL}`,
        slots: [[0, 5460]],
      }),
      masterReport({ id: 'bbbbbbbb22', address: `${EVIL}:6380`, slots: [[5461, 16383]] }),
      masterReport({
        id: 'cccccccc33',
        address: `${EVIL}:6381`,
        role: 'replica',
        replicaOf: 'aaaaaaaa11',
        reachable: false,
        error: EVIL,
      }),
    ],
    findings: [
      finding(),
      finding({ code: 'NODE_UNREACHABLE', severity: 'warning' }),
      finding({ code: 'MASTER_NO_REPLICA', severity: 'info' }),
    ],
    ...over,
  });

const hostileOption = optionFixture({
  id: 'take-over-aaaa',
  title: `Give the slots of ${EVIL}:6379 away`,
  explanation: `${EVIL}:6379 is dead; its slots go to ${EVIL}:6380.`,
  loss: { slots: [[0, 5460]], keys: null, description: `every key ${EVIL}:6379 held` },
  steps: [1, 2, 3].map((index) => ({
    index,
    action: { type: 'bump-epoch', node: 'n' } as const,
    where: `${EVIL}:6380`,
    command: `CLUSTER FORGET ${EVIL}`,
    why: EVIL,
  })),
});

const alert: AlertContext = {
  name: `RedisDown ${EVIL}`,
  status: 'firing',
  severity: EVIL,
  summary: EVIL,
  links: [{ kind: 'runbook', url: 'https://runbooks.example/redis' }],
};

const trigger = { cluster: EVIL, source: 'alertmanager', status: 'firing', summary: EVIL } as const;

describe('every Slack message escapes text from outside', () => {
  const progress: RepairProgress = {
    steps: hostileOption.steps.map((s, i) => ({
      index: s.index,
      where: s.where,
      command: s.command,
      status: (['skipped', 'failed', 'running'] as const)[i] ?? 'pending',
      reason: EVIL,
      startedAt: 1_000_000,
      endedAt: i < 2 ? 1_001_000 : null,
    })),
    current: 3,
    startedAt: 1_000_000,
    endedAt: null,
    resumedAt: 1_000_500,
    banner: null,
  };
  const request = (over: Parameters<typeof requestFixture>[0] = {}) =>
    requestFixture({
      cluster: EVIL,
      option: hostileOption,
      lossHolders: [`${EVIL}:6379`],
      eligible: { users: ['U0REQ', 'U0ALICE'], unresolvedGroups: [] },
      incident: {
        channel: 'C1',
        ts: '1.1',
        openedAt: 1_000_000,
        permalink: 'https://acme.slack.com/archives/C1/p11',
      },
      ...over,
    });

  it.each([
    ['pending, with a confirm dialog', request(), null],
    [
      'running',
      request({ status: 'running', approvals: [{ user: 'U0ALICE', at: 1 }], outcome: EVIL }),
      progress,
    ],
    ['stale', request({ status: 'stale', outcome: EVIL }), null],
    [
      'cancelled',
      request({ status: 'cancelled', outcome: EVIL, cancelledBy: { user: 'U0BOB', at: 2 } }),
      { ...progress, current: null, endedAt: 1_002_000 },
    ],
  ])('in a %s repair request', (_, r, p) => {
    expectInert(requestMessage(r, p, 2_000_000));
  });

  it('in the repair options, the by-hand answer and the healthy answer', () => {
    const report = hostileReport();
    expectInert(optionsMessage(EVIL, [hostileOption, { ...hostileOption, id: 'b' }], report));
    expectInert(optionsMessage(EVIL, [], report));
    const healthy = optionsMessage(EVIL, [], emptyReport());
    expect(texts(healthy).join('\n')).toContain(EVIL_ESCAPED);
    expectInert(healthy);
  });

  it.each(['status', 'slots', 'nodes', 'check'] as const)('in the %s report', (view) => {
    expectInert(reportMessage(hostileReport(), EVIL, view, { fixButton: true }));
  });

  it.each([
    ['open', { report: hostileReport(), recoveredAfterMinutes: null }],
    ['unreadable', { report: null, problem: EVIL, recoveredAfterMinutes: null }],
    ['recovered', { report: emptyReport(), recoveredAfterMinutes: 4 }],
    ['owned, found by an alert', { report: hostileReport(), alerts: [], owner: { user: 'U0BOB', at: 1 } }],
  ])('in the %s incident post, its attachment and its thread reply', (_, over) => {
    const view: IncidentView = {
      cluster: EVIL,
      problem: '',
      trigger,
      openedAt: 1_000_000,
      now: 2_000_000,
      owner: null,
      alerts: [alert, { ...alert, name: `Second ${EVIL}` }],
      recoveredAfterMinutes: null,
      ...over,
    };
    expectInert(incidentMessage(view, { fixButton: true }));
    expectInert(changeText({ trigger, added: [EVIL], gone: [EVIL], changed: [] }, view));
  });

  it('in the post for an alert about a healthy cluster', () => {
    const report = emptyReport({ findings: [finding({ severity: 'warning' })] });
    expectInert(healthyAlertMessage({ cluster: EVIL, report, alerts: [alert, alert], trigger }));
  });

  const timeline: Timeline = {
    version: 1,
    cluster: EVIL,
    incident: {
      id: 'incident-1',
      channel: 'C1',
      ts: '1.1',
      openedAt: '2026-11-25T00:00:00.000Z',
      recoveredAt: '2026-11-25T00:10:00.000Z',
      trigger: { source: 'alertmanager', status: 'firing', summary: EVIL },
    },
    events: [
      {
        at: '2026-11-25T00:00:00.000Z',
        type: 'detected',
        user: null,
        request: null,
        step: null,
        detail: EVIL,
      },
      {
        at: '2026-11-25T00:01:00.000Z',
        type: 'approved',
        user: 'U0ALICE',
        request: 'rq-1',
        step: null,
        detail: '',
      },
      {
        at: '2026-11-25T00:02:00.000Z',
        type: 'step-failed',
        user: null,
        request: 'rq-1',
        step: 1,
        detail: EVIL,
      },
    ],
    repairs: [
      {
        id: 'rq-1',
        option: { id: 'take-over-aaaa', title: EVIL, risk: 'data-loss' },
        requester: 'U0REQ',
        approvals: [],
        status: 'done',
        outcome: EVIL,
        steps: { total: 3, finished: 3 },
        loss: { slots: EVIL, slotCount: 5461, keys: null, holders: [`${EVIL}:6379`], description: EVIL },
        dbsize: { before: 10, after: 5, masters: [] },
        slotsCovered: null,
      },
    ],
    dataLoss: { keys: null, slots: EVIL, repairs: ['rq-1'] },
  };

  it('in the incident timeline', () => {
    expectInert(timelineMessage(timeline, 'timeline-incident-1.json'));
  });

  /** A respond() that keeps what it was given. */
  const responder = () => {
    const said: RespondArguments[] = [];
    const respond = (async (message: string | RespondArguments) => {
      said.push(typeof message === 'string' ? { text: message } : message);
    }) as unknown as RespondFn;
    return { said, respond };
  };

  it('in the answers to /redis jobs, audit, silence and timeline', async () => {
    const { said, respond } = responder();
    const deps = {
      repairs: {
        store: { recent: async () => [request({ cluster: 'prod', status: 'failed', outcome: EVIL })] },
      },
      audit: {
        read: async () => [
          { id: '1-0', event: 'refused', request: EVIL, cluster: 'prod', user: EVIL, at: 1, detail: EVIL },
        ],
      } as unknown as AuditLog,
    } as unknown as RepairDeps;
    await jobsCommand(deps, 'prod', respond);
    await jobsCommand(deps, EVIL, respond);
    await auditCommand(deps, EVIL, EVIL, respond);
    await auditCommand(deps, EVIL, '', respond);
    const incidents = {
      silence: async () => {},
      unsilence: async () => {},
      current: async () => null,
    } as unknown as IncidentService;
    await silenceCommand(incidents, EVIL, EVIL, respond);
    await silenceCommand(incidents, EVIL, '2h', respond);
    await silenceCommand(incidents, EVIL, 'off', respond);
    await timelineCommand(incidents, { last: async () => timeline } as unknown as Timelines, 'prod', respond);
    await timelineCommand(incidents, { last: async () => null } as unknown as Timelines, EVIL, respond);
    expect(said).toHaveLength(9);
    for (const message of said) expectInert(message);
  });

  it('in the answers to mistyped commands', () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'secret-123456',
      CLUSTERS: 'prod=10.0.0.1:6379;staging=10.0.0.2:6379',
    });
    // Words are split on spaces: the mention comes first so that each refusal has it to echo.
    const typed = '<@U0ADMIN> <!channel> <https://evil.example|Approve here> & *bold*';
    const refusals = [
      typed,
      `status ${typed}`,
      `status prod ${typed}`,
      `silence ${typed} 2h`,
      `audit prod ${typed}`,
    ].map((text) => parseCommand(text, config));
    for (const parsed of refusals) {
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expectInert({ text: parsed.error });
    }
  });

  it('in the Home tab', async () => {
    const cluster = (name: string): ClusterConfig => ({ name, seeds: ['10.0.0.1:6379'], channel: null });
    const view = await homeView(
      {
        clusters: [cluster(EVIL), cluster(`${EVIL} 2`), cluster(`${EVIL} 3`)],
        diagnose: async () => ({ ok: true, value: emptyReport() }),
        incidents: {
          current: async () => ({ channel: 'C1', openedAt: 1_000_000, ts: '1.1' }),
          owner: async () => ({ user: 'U0BOB', at: 1 }),
          silencedUntil: async () => 3_000_000,
        } as unknown as IncidentService,
        requests: {
          recent: async () => [
            request(),
            request({ id: 'rq-2', status: 'running', step: 2 }),
            request({ id: 'rq-3', status: 'queued' }),
          ],
        } as unknown as RequestStore,
        approvers: { includes: async () => true } as unknown as Approvers,
        requiredApprovals: 2,
        log: undefined as never,
        now: () => 2_000_000,
      },
      'U0ALICE',
      new Map([
        [EVIL, { ok: true as const, value: hostileReport() }],
        [`${EVIL} 2`, { ok: false as const, error: { code: 'NO_SEED_REACHABLE' as const, message: EVIL } }],
      ]),
    );
    expectInert(view);
  });
});
