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

  it('reports slack down with the reason once the Web API stops answering', async () => {
    await recorder.stop();
    const down = await waitFor('slack reported down', async () => {
      const answer = await readyz(bot.port);
      return answer.status === 503 ? answer : null;
    });
    expect(down.body.status).toBe('not-ready');
    expect(down.body.dependencies.slack.ok).toBe(false);
    expect(down.body.dependencies.slack.detail).toMatch(/^down: .*ECONNREFUSED|^down: .*fetch failed/);
  });
});
