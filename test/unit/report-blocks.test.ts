import { describe, expect, it } from 'vitest';
import { FINDING_CODES, type Report } from '../../src/core/report.js';
import { type ReportView, reportMessage } from '../../src/slack/blocks/report-blocks.js';
import { optionFixture, requestFixture } from '../support/request-fixtures.js';

/** Slack's own Block Kit limits (api.slack.com/reference/block-kit), written here, not read from src. */
const SLACK = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
};
/** Not documented: chat.postMessage answers msg_blocks_too_long above roughly 13k characters of blocks. */
const BLOCKS_JSON_CHARS = 13_000;

type Text = { type: string; text: string };
type Element = { type: string; text?: Text | string; value?: string; action_id?: string };
type AnyBlock = { type: string; text?: Text; fields?: Text[]; elements?: Element[] };

/** Every place where `blocks` break one of Slack's limits, as readable lines (empty when none). */
function slackViolations(blocks: readonly AnyBlock[]): string[] {
  const found: string[] = [];
  const over = (where: string, length: number, max: number) => {
    if (length > max) found.push(`${where}: ${length} > ${max}`);
  };
  over('blocks', blocks.length, SLACK.blocks);
  over('blocks JSON', JSON.stringify(blocks).length, BLOCKS_JSON_CHARS);
  blocks.forEach((block, i) => {
    const where = `block ${i} (${block.type})`;
    if (block.type === 'header') over(`${where} text`, block.text?.text.length ?? 0, SLACK.headerText);
    if (block.type === 'section') {
      over(`${where} text`, block.text?.text.length ?? 0, SLACK.sectionText);
      over(`${where} fields`, block.fields?.length ?? 0, SLACK.fields);
      for (const field of block.fields ?? []) over(`${where} field`, field.text.length, SLACK.fieldText);
    }
    if (block.type === 'context') {
      over(`${where} elements`, block.elements?.length ?? 0, SLACK.contextElements);
      for (const element of block.elements ?? [])
        if (typeof element.text === 'string')
          over(`${where} element`, element.text.length, SLACK.sectionText);
    }
    if (block.type === 'actions') {
      over(`${where} elements`, block.elements?.length ?? 0, SLACK.actionsElements);
      for (const element of block.elements ?? []) {
        const label = typeof element.text === 'object' ? element.text.text : '';
        over(`${where} button text`, label.length, SLACK.buttonText);
        over(`${where} button value`, element.value?.length ?? 0, SLACK.buttonValue);
        over(`${where} action_id`, element.action_id?.length ?? 0, SLACK.actionId);
      }
    }
  });
  return found;
}

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
        summary: `${code} number ${j}: ${'a long explanation of what is wrong with <this> & that node '.repeat(j === 0 ? 60 : 12)}`,
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

describe('reportMessage', () => {
  it.each<ReportView>(['status', 'slots', 'nodes', 'check'])(
    "keeps a huge broken report inside Slack's Block Kit limits (%s)",
    (view) => {
      const cluster = `prod-${'e'.repeat(58)}`;

      const message = reportMessage(hugeReport(), cluster, view, { fixButton: true });

      expect(slackViolations(message.blocks as AnyBlock[])).toEqual([]);
      expect(message.text.length).toBeGreaterThan(10);
      expect(message.blocks.at(-1)?.type).toBe('context');
    },
  );

  it('keeps a report with 200 short findings within 50 blocks', () => {
    const report = hugeReport();
    const short = {
      ...report,
      findings: Array.from({ length: 200 }, (_, i) => ({
        code: 'NODE_FAILED' as const,
        severity: 'error' as const,
        summary: `node ${i} failed`,
        nodes: [id(i % 64)],
        slots: [],
        next: 'Restart it.',
        runbook: 'Restart.',
        details: [],
      })),
    };

    const message = reportMessage(short, 'prod', 'check', { fixButton: true });

    expect(slackViolations(message.blocks as AnyBlock[])).toEqual([]);
    expect(JSON.stringify(message.blocks)).toMatch(/… and \d+ more findings/);
  });

  it("finds a block over Slack's limits (the check itself can fail)", () => {
    const blocks: AnyBlock[] = [
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } },
      { type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3001) } },
      { type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'b'.repeat(76) } }] },
    ];

    expect(slackViolations(blocks)).toEqual([
      'block 0 (header) text: 151 > 150',
      'block 1 (section) text: 3001 > 3000',
      'block 2 (section) field: 2001 > 2000',
      'block 3 (actions) button text: 76 > 75',
    ]);
  });

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
    const message = requestMessage(
      requestFixture({
        option: optionFixture({
          loss: { slots: [[0, 5460]], keys: 1200, description: 'every key in 0-5460 (1200 keys)' },
          steps: [],
        }),
        requester: 'U0REQ0001',
        createdAt: 0,
        expiresAt: 1_800_000,
        approvals: [{ user: 'U0APP0001', at: 1000 }],
        lossHolders: ['10.0.0.5:6379'],
      }),
    );
    const text = JSON.stringify(message.blocks);
    expect(text).toContain(
      '"confirm":{"title":{"type":"plain_text","text":"Approve a repair that loses data?"}',
    );
    expect(text).toContain('in slots 0-5460');
    expect(text).toContain('1 of 2 approvals: <@U0APP0001>');
    expect(text).toContain(
      'Loses the 1,200 keys in slots 0-5460 that only 10.0.0.5:6379 held; they cannot be recovered by Slotwatch.',
    );
  });
});

describe('optionsMessage', () => {
  const longOptions = (count: number, explanation: string) =>
    Array.from({ length: count }, (_, i) => ({
      id: `take-over-${'a'.repeat(40)}-${i}`,
      kind: 'take-over-slots' as const,
      title: `Give the slots of <a> dead master & away ${i}`,
      explanation,
      risk: 'data-loss' as const,
      loss: {
        slots: Array.from({ length: 40 }, (_, j) => [j * 100, j * 100 + 50] as [number, number]),
        keys: 1200,
        description: 'every key in those slots '.repeat(4),
      },
      steps: [],
      nodes: [],
      expected: '',
      fingerprint: 'f'.repeat(64),
    }));

  it("keeps twelve repair options with long texts inside Slack's Block Kit limits", async () => {
    const { optionsMessage } = await import('../../src/slack/blocks/repair-blocks.js');
    const options = longOptions(12, 'Why this helps and what it costs. '.repeat(12));

    const message = optionsMessage(`prod-${'e'.repeat(58)}`, options, hugeReport());

    expect(slackViolations(message.blocks as AnyBlock[])).toEqual([]);
  });

  it('fits ten options with 600-character explanations in one message and says how many more exist', async () => {
    const { optionsMessage } = await import('../../src/slack/blocks/repair-blocks.js');
    const options = longOptions(10, `${'Restart the master from its RDB or AOF first. '.repeat(13)}end`);

    const message = optionsMessage('prod', options, hugeReport());
    const json = JSON.stringify(message.blocks);
    const buttons = message.blocks.filter((b) => b.type === 'actions').length;

    expect(slackViolations(message.blocks as AnyBlock[])).toEqual([]);
    expect(json.length).toBeLessThanOrEqual(12_000);
    expect(buttons).toBeGreaterThan(0);
    expect(buttons).toBeLessThan(10);
    const hidden = 10 - buttons;
    expect(json).toContain(`… and ${hidden} more option${hidden === 1 ? '' : 's'}: \`slotwatch plan`);
  });
});
