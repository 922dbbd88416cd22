import { describe, expect, it } from 'vitest';
import { esc } from '../../src/slack/blocks/limits.js';
import { changeText, triggerText } from '../../src/slack/incident-poster.js';

const HOSTILE = '<!channel> <@U0ADMIN> <https://evil.example|Approve here>';

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
