import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../support/backend.js';
import { expectNoUnhandledRejection } from '../support/bots.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { postToSlack, slashCommandBody } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'process-test-secret-0123';
let backend: RedisBackend;
let cluster: TestCluster;
let recorder: SlackRecorder;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
});
afterAll(async () => {
  await recorder?.stop();
  await cluster?.stop();
  await backend?.stopAll();
});

function run(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

describe('the slotwatch process', () => {
  it('refuses to start on a bad variable, naming it, and exits 1', async () => {
    const bot = run({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: SECRET,
      CLUSTERS: 'prod=nohostport',
      PORT: '0',
    });
    expect(await bot.exit).toBe(1);
    expect(bot.output()).toContain('CLUSTERS: "prod=nohostport" must be name=host:port');
    expectNoUnhandledRejection(bot.output());
  });

  it('finishes the command it is answering on SIGTERM, then exits 0, logging no secret', async () => {
    const port = await freePort();
    const bot = run({
      SLACK_BOT_TOKEN: 'xoxb-secret-bot-token',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: recorder.apiUrl,
      CLUSTERS: `prod=${cluster.seeds.join(',')}`,
      PORT: String(port),
      LOG_LEVEL: 'debug',
    });
    await waitFor('the bot to listen', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, {
      timeoutMs: 45_000, // a bound for a loaded two-core machine, not a speed claim
    });
    const victim = cluster.masters[1];
    await victim?.process.pause();
    try {
      const ack = await postToSlack(
        port,
        slashCommandBody({ text: 'status', responseUrl: recorder.responseUrl('term') }),
        { secret: SECRET },
      );
      expect(ack.status).toBe(200);
      bot.child.kill('SIGTERM');
      expect(await bot.exit).toBe(0);
      expect(recorder.responses('term')).toHaveLength(1);
    } finally {
      await victim?.process.resume();
    }
    expect(bot.output()).toContain('"msg":"stopped"');
    expect(bot.output()).not.toContain('xoxb-secret-bot-token');
    expectNoUnhandledRejection(bot.output());
  });
});
