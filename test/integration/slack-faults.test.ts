import { webApi } from '@slack/bolt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SlackRecorder } from '../support/slack-recorder.js';

let recorder: SlackRecorder;
let client: InstanceType<typeof webApi.WebClient>;

beforeAll(async () => {
  recorder = new SlackRecorder();
  await recorder.start();
  client = new webApi.WebClient('xoxb-test', {
    slackApiUrl: recorder.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 500,
    logLevel: webApi.LogLevel.ERROR,
  });
});

afterEach(() => {
  recorder.faults.clear();
});

afterAll(async () => {
  await recorder?.stop();
});

/** What the Web API client threw: its code and the fields tests read. */
async function failure(call: Promise<unknown>) {
  const error = (await call.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e: unknown) => e,
  )) as { code?: string; retryAfter?: number; data?: { error?: string }; original?: Error };
  return error;
}

// Every test posts to a channel of its own, so the 1 message per second per channel limit stays out of the way.
describe('the local Slack on a bad day, as the Web API client sees it', () => {
  it('holds a hung call open until the client times out', async () => {
    recorder.faults.set({ method: 'chat.update', fault: { kind: 'hang' } });
    const since = Date.now();

    const error = await failure(client.chat.update({ channel: 'C10', ts: '1.000001', text: 'x' }));

    expect(error.code).toBe(webApi.ErrorCode.RequestError);
    expect(error.original?.name).toBe('TimeoutError');
    const [hung] = recorder.calls('chat.update', { sinceMs: since });
    expect(hung).toMatchObject({ status: 0, error: null });
  });

  it('answers a hang with ms normally once the time has passed', async () => {
    recorder.faults.set({ method: 'chat.postMessage', fault: { kind: 'hang', ms: 200 } });
    const started = Date.now();

    const posted = await client.chat.postMessage({ channel: 'C11', text: 'late' });

    expect(posted.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(recorder.calls('chat.postMessage', { ok: true, sinceMs: started })).toHaveLength(1);
  });

  it('shows a rate-limited fault to the client as 429 with Retry-After', async () => {
    recorder.faults.set({ method: '*', fault: { kind: 'rate-limited', retryAfterSec: 30 } });

    const error = await failure(client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [] } }));

    expect(error.code).toBe(webApi.ErrorCode.RateLimitedError);
    expect(error.retryAfter).toBe(30);
    expect(recorder.calls('views.publish').at(-1)).toMatchObject({ status: 429, error: 'ratelimited' });
    // '*' leaves auth.test alone: only a rule naming it reaches it.
    expect((await client.auth.test()).ok).toBe(true);
  });

  it('answers not_in_channel as a platform error, and missing_scope with the scopes as Slack does', async () => {
    recorder.faults.set({ method: 'chat.postMessage', fault: { kind: 'error', error: 'not_in_channel' } });
    recorder.faults.set({ method: 'chat.update', fault: { kind: 'error', error: 'missing_scope' } });

    const posted = await failure(client.chat.postMessage({ channel: 'C12', text: 'x' }));
    const updated = await failure(client.chat.update({ channel: 'C12', ts: '1.000001', text: 'x' }));

    expect(posted.code).toBe(webApi.ErrorCode.PlatformError);
    expect(posted.data?.error).toBe('not_in_channel');
    expect(updated.data).toMatchObject({
      error: 'missing_scope',
      needed: 'chat:write',
      provided: 'commands',
    });
    expect(recorder.calls('chat.postMessage', { ok: false }).at(-1)).toMatchObject({
      status: 200,
      error: 'not_in_channel',
    });
  });

  it('applies a channel-scoped rule to that channel only, the latest matching rule winning', async () => {
    recorder.faults.set({ method: 'chat.postMessage', fault: { kind: 'error', error: 'invalid_auth' } });
    recorder.faults.set({
      method: 'chat.postMessage',
      channel: 'C13',
      fault: { kind: 'error', error: 'channel_not_found' },
    });
    recorder.faults.set({ method: 'chat.postMessage', channel: 'C14', fault: { kind: 'hang' } });
    recorder.faults.set({ method: '*', channel: 'C14', fault: { kind: 'error', error: 'not_in_channel' } });

    const there = await failure(client.chat.postMessage({ channel: 'C13', text: 'x' }));
    const latest = await failure(client.chat.postMessage({ channel: 'C14', text: 'x' }));
    const elsewhere = await failure(client.chat.postMessage({ channel: 'C15', text: 'x' }));
    recorder.faults.clear();
    recorder.faults.set({ method: 'chat.postMessage', channel: 'C13', fault: { kind: 'hang' } });

    expect(there.data?.error).toBe('channel_not_found');
    expect(latest.data?.error).toBe('not_in_channel');
    expect(elsewhere.data?.error).toBe('invalid_auth');
    expect((await client.chat.postMessage({ channel: 'C16', text: 'x' })).ok).toBe(true);
  });

  it('spends a rule after `times` matching calls', async () => {
    recorder.faults.set({
      method: 'chat.postMessage',
      channel: 'C17',
      fault: { kind: 'rate-limited', retryAfterSec: 2 },
      times: 1,
    });

    const error = await failure(client.chat.postMessage({ channel: 'C17', text: 'x' }));
    const retried = await client.chat.postMessage({ channel: 'C17', text: 'x' });

    expect(error.retryAfter).toBe(2);
    expect(retried.ok).toBe(true);
  });

  it("enforces chat.postMessage's 1 message per second per channel", async () => {
    expect((await client.chat.postMessage({ channel: 'C18', text: 'first' })).ok).toBe(true);

    const second = await failure(client.chat.postMessage({ channel: 'C18', text: 'second' }));
    const other = await client.chat.postMessage({ channel: 'C19', text: 'other channel' });

    expect(second.code).toBe(webApi.ErrorCode.RateLimitedError);
    expect(second.retryAfter).toBe(1);
    expect(other.ok).toBe(true);
    expect(recorder.state.messages.filter((m) => m.channel === 'C18').map((m) => m.text)).toEqual(['first']);
  });

  it.each(['clear', 'stop'] as const)('drops the connection of a hung call on %s', async (how) => {
    const local = new SlackRecorder();
    await local.start();
    local.faults.set({ method: '*', fault: { kind: 'hang' } });
    const patient = new webApi.WebClient('xoxb-test', {
      slackApiUrl: local.apiUrl,
      retryConfig: { retries: 0 },
      timeout: 10_000,
      logLevel: webApi.LogLevel.ERROR,
    });
    const pending = failure(patient.chat.update({ channel: 'C20', ts: '1.000001', text: 'x' }));
    await expect.poll(() => local.calls('chat.update').length).toBe(1);
    const started = Date.now();

    await (how === 'clear' ? local.faults.clear() : local.stop());
    const error = await pending;

    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.code).toBe(webApi.ErrorCode.RequestError);
    expect(error.original?.name).not.toBe('TimeoutError');
    await local.stop();
  });
});
