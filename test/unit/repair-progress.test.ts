import { describe, expect, it } from 'vitest';
import type { RepairOption } from '../../src/core/repair/types.js';
import { progressOf } from '../../src/jobs/repair-progress.js';
import type { RequestEvent } from '../../src/jobs/requests.js';
import { lossSentence } from '../../src/slack/blocks/data-loss.js';
import { stepChecklist, stepSummary } from '../../src/slack/blocks/progress-blocks.js';
import { approverShortfall, requestMessage } from '../../src/slack/blocks/repair-blocks.js';
import { optionFixture, requestFixture } from '../support/request-fixtures.js';

const option = optionFixture;
const request = requestFixture;

const event = (v: number, name: string, at: number, step: number | null, detail = ''): RequestEvent => ({
  v,
  event: name,
  status: 'running',
  user: 'slotwatch',
  at,
  detail,
  step,
});

describe('lossSentence', () => {
  it.each([
    [
      2013,
      ['10.0.0.5:6379'],
      'Loses the 2,013 keys in slots 0-5460 that only 10.0.0.5:6379 held; they cannot be recovered by Slotwatch.',
    ],
    [null, [], 'Loses an unknown number of keys in slots 0-5460; they cannot be recovered by Slotwatch.'],
    [
      1,
      ['a:1', 'b:2'],
      'Loses the 1 key in slots 0-5460 that only a:1 and b:2 held; it cannot be recovered by Slotwatch.',
    ],
    [0, [], 'Gives up slots 0-5460, where no keys were last seen: nothing known is lost.'],
  ])('says what %s keys lost means in one sentence', (keys, holders, sentence) => {
    const o = option({ loss: { slots: [[0, 5460]], keys, description: 'd' } });
    expect(lossSentence(o, holders)).toBe(sentence);
  });

  it('says "slot" for one slot', () => {
    const o = option({ loss: { slots: [[7, 7]], keys: 3, description: 'd' } });
    expect(lossSentence(o, [])).toBe('Loses the 3 keys in slot 7; they cannot be recovered by Slotwatch.');
  });
});

describe('approverShortfall', () => {
  it('names who can still approve when fewer remain than approvals needed', () => {
    const r = request({ eligible: { users: ['U0BOB'], unresolvedGroups: [] } });
    expect(approverShortfall(r)).toContain(
      'it needs 2 more approvals, but only <@U0BOB> can still approve it',
    );
  });

  it('counts approvals already given and never the requester', () => {
    const r = request({
      eligible: { users: ['U0A', 'U0B'], unresolvedGroups: [] },
      approvals: [{ user: 'U0A', at: 1 }],
    });
    expect(approverShortfall(r)).toBeNull();
    const alone = request({ eligible: { users: [], unresolvedGroups: [] }, required: 1 });
    expect(approverShortfall(alone)).toContain(
      'it needs 1 more approval, but nobody else on the approver list',
    );
  });

  it('stays quiet while a group could not be listed (its size is unknown)', () => {
    const r = request({ eligible: { users: [], unresolvedGroups: ['S0X'] } });
    expect(approverShortfall(r)).toBeNull();
  });
});

describe('progress', () => {
  const running = request({ status: 'running', step: 3, finished: [1, 2] });
  const events = [
    event(5, 'claimed', 10_000, null),
    event(6, 'step-started', 10_100, 1, 'step 1: CMD 1'),
    event(7, 'step-finished', 11_300, 1, 'step 1 done'),
    event(8, 'step-started', 11_400, 2, 'step 2: CMD 2'),
    event(9, 'step-skipped', 11_500, 2, 'step 2 skipped: already done'),
    event(10, 'step-finished', 11_600, 2, 'step 2 done'),
    event(11, 'step-started', 11_700, 3, 'step 3: CMD 3'),
  ];

  it('gives each step its status and reason from the versioned events', () => {
    const p = progressOf(running, events);
    expect(p.steps.map((s) => [s.status, s.reason])).toEqual([
      ['done', null],
      ['skipped', 'already done'],
      ['running', null],
    ]);
    expect(p).toMatchObject({ current: 3, startedAt: 10_000, endedAt: null });
    expect(stepSummary(p)).toBe('Step 3 of 3');
    const lines = stepChecklist(p, false, 14_700).split('\n');
    expect(lines).toEqual([
      ':white_check_mark: 1. 10.0.0.6:6379: `CMD 1` · done in 1.2 s',
      ':fast_forward: 2. 10.0.0.6:6379: `CMD 2` · skipped: already done',
      ':gear: 3. 10.0.0.6:6379: `CMD 3` · running for 3.0 s',
    ]);
  });

  it('shows every step of a wave as running, and the first of them as step k', () => {
    const wave = request({ status: 'running', step: 3, finished: [1] });
    const p = progressOf(wave, [
      ...events.slice(0, 3),
      event(8, 'step-started', 11_400, 2, 'step 2: CMD 2'),
      event(9, 'step-started', 11_410, 3, 'step 3: CMD 3'),
    ]);
    expect(p.steps.map((s) => s.status)).toEqual(['done', 'running', 'running']);
    expect(stepSummary(p)).toBe('Step 2 of 3');
  });

  it('ends with the failure, the steps not run and plural-correct counts', () => {
    const failed = request({
      status: 'failed',
      step: 3,
      finished: [1, 2],
      outcome: 'Stopped at step 3: boom.',
    });
    const p = progressOf(failed, [
      ...events,
      event(12, 'step-failed', 12_000, 3, 'step 3 failed: boom'),
      { ...event(13, 'failed', 12_100, null, 'Stopped'), status: 'failed' },
    ]);
    expect(stepSummary(p)).toBe('1 of 3 steps done, 1 skipped, 1 failed');
    expect(p.endedAt).toBe(12_100);
    const text = JSON.stringify(requestMessage(failed, p, 20_000).blocks);
    expect(text).toContain(':x: 3. 10.0.0.6:6379: `CMD 3` · *failed*: boom');
    expect(text).toContain('took 2.1 s');
    expect(text).toContain('*Result:* Stopped at step 3: boom.');
    expect(text).not.toContain('approve_repair');
  });

  it('shows one step as "1 step" before the run and a window around the running one in long plans', () => {
    const one = request({ option: option({ steps: option().steps.slice(0, 1) }) });
    expect(JSON.stringify(requestMessage(one).blocks)).toContain('*1 Step*');
    const many = option({
      steps: Array.from(
        { length: 30 },
        (_, i) => ({ ...option().steps[0], index: i + 1 }) as RepairOption['steps'][number],
      ),
    });
    const r = request({
      status: 'running',
      option: many,
      step: 20,
      finished: Array.from({ length: 19 }, (_, i) => i + 1),
    });
    const list = stepChecklist(progressOf(r, [event(1, 'claimed', 0, null)]), false, 0);
    expect(list).toContain('… 17 earlier steps');
    expect(list).toContain(':gear: 20.');
    expect(list).toContain('… and 1 more step');
  });
});
