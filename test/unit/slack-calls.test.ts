import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type CallResult, SlackCalls } from '../../src/slack/slack-calls.js';
import { SlackProblems } from '../../src/slack/slack-problems.js';

const log = pino({ level: 'silent' });

/** An error shaped as @slack/web-api throws it. */
const slackError = (fields: Record<string, unknown>) => Object.assign(new Error('slack error'), fields);

function calls(options: { timeoutMs?: number } = {}) {
  const counted: string[] = [];
  const logged: string[] = [];
  const lines = pino({ level: 'info' }, { write: (line: string) => logged.push(line) });
  const problems = new SlackProblems(lines);
  const gateway = new SlackCalls({
    budget: null,
    problems,
    log,
    count: (method: string, result: CallResult, error?: string) =>
      counted.push(`${method} ${error ?? result}`),
    ...options,
  });
  return { gateway, counted, problems, logged };
}

describe('SlackCalls', () => {
  it('answers a hung call as transient after its timeout, whatever the client does', async () => {
    const { gateway, counted } = calls({ timeoutMs: 50 });
    const outcome = await gateway.call('chat.update', 'C1', () => new Promise<never>(() => {}));
    expect(outcome).toEqual({ ok: false, kind: 'transient', error: 'no answer within 50 ms' });
    expect(counted).toEqual(['chat.update timeout']);
  });

  it('turns a 429 into a wait of Retry-After seconds', async () => {
    const { gateway, counted } = calls();
    const outcome = await gateway.call('chat.update', 'C1', async () => {
      throw slackError({ code: 'slack_webapi_rate_limited_error', retryAfter: 45 });
    });
    expect(outcome).toEqual({ ok: false, kind: 'wait', waitMs: 45_000, error: 'ratelimited' });
    expect(counted).toEqual(['chat.update rate_limited']);
  });

  it('reports a permanent error once with its fix, counts every one, and clears it on success', async () => {
    const { gateway, counted, problems, logged } = calls();
    const refuse = async () => {
      throw slackError({ code: 'slack_webapi_platform_error', data: { error: 'not_in_channel' } });
    };
    const first = await gateway.call('chat.postMessage', 'C9', refuse);
    await gateway.call('chat.postMessage', 'C9', refuse);

    expect(first).toEqual({ ok: false, kind: 'permanent', error: 'not_in_channel' });
    expect(counted).toEqual(['chat.postMessage not_in_channel', 'chat.postMessage not_in_channel']);
    expect(problems.list()).toMatchObject([
      { method: 'chat.postMessage', error: 'not_in_channel', channel: 'C9', count: 2 },
    ]);
    expect(problems.list()[0]?.fix).toBe('invite the bot to the channel: /invite @slotwatch in C9');
    expect(logged.filter((line) => line.includes('Slack refused a call'))).toHaveLength(1);

    await gateway.call('chat.postMessage', 'C9', async () => ({ ok: true }));
    expect(problems.list()).toEqual([]);
  });

  it('names the scope a missing_scope error needs', async () => {
    const { gateway, problems } = calls();
    await gateway.call('files.uploadV2', 'C1', async () => {
      throw slackError({
        code: 'slack_webapi_platform_error',
        data: { error: 'missing_scope', needed: 'files:write' },
      });
    });
    expect(problems.list()[0]?.fix).toContain('add the files:write scope');
  });

  it('treats an unknown platform error and a network error as transient', async () => {
    const { gateway } = calls();
    const internal = await gateway.call('chat.update', 'C1', async () => {
      throw slackError({ code: 'slack_webapi_platform_error', data: { error: 'internal_error' } });
    });
    const network = await gateway.call('chat.update', 'C1', async () => {
      throw slackError({ code: 'slack_webapi_request_error', original: new Error('ECONNREFUSED') });
    });
    expect(internal).toEqual({ ok: false, kind: 'transient', error: 'internal_error' });
    expect(network).toMatchObject({ ok: false, kind: 'transient' });
  });
});
