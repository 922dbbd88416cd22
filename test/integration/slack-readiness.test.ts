import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { readyz } from '../support/bots.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

let recorder: SlackRecorder;
let bot: Running;

beforeAll(async () => {
  recorder = new SlackRecorder();
  await recorder.start();
  bot = await startSlotwatch(
    loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'readiness-secret-0123',
      SLACK_API_URL: recorder.apiUrl,
      CLUSTERS: 'prod=127.0.0.1:1',
      PORT: '0',
    }),
    pino({ level: 'silent' }),
  );
});

afterAll(async () => {
  await bot?.stop();
  await recorder?.stop();
});

describe('/readyz and the Slack Web API', () => {
  it('checks auth.test at start and says ready while Slack answers', async () => {
    expect(recorder.requests.some((r) => r.path === '/api/auth.test')).toBe(true);
    expect(await readyz(bot.port)).toMatchObject({
      status: 200,
      body: { status: 'ready', dependencies: { slack: { ok: true } } },
    });
  });

  it('stays ready when the Web API stops answering, and says so in its body and in /healthz', async () => {
    await recorder.stop();
    const seen = await waitFor('the Web API reported down', async () => {
      const answer = await readyz(bot.port);
      return answer.body.dependencies.slackWebApi?.ok === false ? answer : null;
    });
    // Serving (HTTP mode) does not need the Web API: an orchestrator must not restart a bot that serves.
    expect(seen.status).toBe(200);
    expect(seen.body.status).toBe('ready');
    expect(seen.body.dependencies.slack.ok).toBe(true);
    expect(seen.body.dependencies.slackWebApi?.detail).toMatch(/^down: .*(ECONNREFUSED|fetch failed)/);
    const health = await fetch(`http://127.0.0.1:${bot.port}/healthz`);
    const body = (await health.json()) as {
      status: string;
      slack: { webApi: { ok: boolean; detail: string } };
    };
    expect(health.status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', slack: { webApi: { ok: false } } });
  });
});
