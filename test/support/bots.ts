import { type ChildProcess, spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { FINAL_STATUSES, type RepairRequest } from '../../src/jobs/requests.js';
import type { TestCluster } from './cluster.js';
import type { SlackRecorder } from './slack-recorder.js';
import { buttonClickBody, postToSlack, slashCommandBody } from './slack-signing.js';
import { waitFor } from './wait.js';

export const SECRET = 'durability-secret-0123';
export const WEBHOOK_TOKEN = 'durability-webhook-token-0123';
export const [ALICE, BOB, CAROL] = ['U0ALICE01', 'U0BOB0001', 'U0CAROL01'] as const;

/** The environment of a bot in HTTP mode against one cluster, one queue Redis and the local Slack recorder. */
export function botEnv(
  cluster: TestCluster,
  recorder: SlackRecorder,
  queuePort: number,
  port: number,
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: `prod=${cluster.nodes.map((n) => n.address).join(',')}`,
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queuePort}`,
    QUEUE_PREFIX: prefix,
    QUEUE_LOCK_DURATION: '2s',
    QUEUE_STALLED_INTERVAL: '1s',
    SLACK_APPROVERS: [ALICE, BOB, CAROL].join(','),
    PORT: String(port),
    LOG_LEVEL: 'warn',
    WEBHOOK_TOKEN,
    ALERT_CHANNEL: 'C1',
    ...extra,
  };
}

export interface SpawnedBot {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exit: Promise<number | null>;
  /** What it logged (JSON lines). */
  output(): string;
}

/** Bots still running: killed when the test worker exits, so a failed test leaves no process behind. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The bot as its own process (the built dist/, as `npm start` runs it), ready when /healthz answers. */
export async function spawnBot(vars: Record<string, string>): Promise<SpawnedBot> {
  const child = spawn(process.execPath, ['dist/main.js'], { env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = Number(vars.PORT);
  await waitFor(
    'the bot to answer /healthz',
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok,
    { timeoutMs: 20_000 },
  );
  return { child, port, exit, output: () => output };
}

/** What the bot logs on a rejection nobody handled (src/main.ts): a bug, whatever the test was about. */
export const UNHANDLED_REJECTION = 'BUG: unhandled rejection';

/** Throws, quoting the lines, when the bot's output shows an unhandled rejection. */
export function expectNoUnhandledRejection(output: string, who = 'a spawned bot'): void {
  const lines = output.split('\n').filter((line) => line.includes(UNHANDLED_REJECTION));
  if (lines.length > 0) throw new Error(`${who} logged ${UNHANDLED_REJECTION}:\n${lines.join('\n')}`);
}

/** Stops the bot (already dead is fine), then fails when it ever logged an unhandled rejection. */
export async function stopBot(bot: SpawnedBot, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill(signal);
  await bot.exit;
  expectNoUnhandledRejection(bot.output(), `the bot on port ${bot.port}`);
}

let counter = 0;

/** A signed button click, as Slack sends it. */
export async function click(
  recorder: SlackRecorder,
  port: number,
  actionId: string,
  value: string,
  user: string,
): Promise<string> {
  const id = `c${++counter}`;
  const result = await postToSlack(
    port,
    buttonClickBody({ actionId, value, user, responseUrl: recorder.responseUrl(id) }),
    { secret: SECRET },
  );
  if (result.status !== 200) throw new Error(`click answered ${result.status}`);
  return id;
}

/**
 * As Carol: `/redis fix prod`, then Request the option whose value contains `kind`. Returns the request id. As a
 * person would, lists again when the list was refused (queue Redis failing over) or went stale meanwhile.
 */
export async function requestRepair(
  recorder: SlackRecorder,
  port: number,
  queue: Redis,
  prefix: string,
  kind: string,
): Promise<string> {
  const before = new Set(await queue.zrange(`${prefix}:requests`, '0', '-1'));
  return waitFor(
    `a ${kind} request`,
    async () => {
      const list = `l${++counter}`;
      await postToSlack(
        port,
        slashCommandBody({ text: 'fix prod', user: CAROL, responseUrl: recorder.responseUrl(list) }),
        { secret: SECRET },
      );
      const options = (await recorder.nextResponse(list)).body as {
        blocks?: { elements?: { action_id: string; value?: string }[] }[];
      };
      const value = (options.blocks ?? [])
        .flatMap((b) => b.elements ?? [])
        .find((e) => e.value?.includes(kind))?.value;
      if (!value) return undefined;
      await click(recorder, port, 'request_repair', value, CAROL);
      return waitFor(
        'the request',
        async () => (await queue.zrange(`${prefix}:requests`, '0', '-1')).find((id) => !before.has(id)),
        { timeoutMs: 5000 },
      ).catch(() => undefined);
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** The request as stored in the queue Redis (the state machine's record). */
export async function requestDoc(
  queue: Redis,
  prefix: string,
  id: string,
): Promise<
  Pick<RepairRequest, 'status' | 'outcome' | 'step' | 'finished' | 'version' | 'runner' | 'ts' | 'approvals'>
> {
  const raw = JSON.parse((await queue.get(`${prefix}:request:${id}`)) ?? '{}') as RepairRequest & {
    finished: unknown;
  };
  return { ...raw, finished: Array.isArray(raw.finished) ? raw.finished : [] };
}

/** Audit events of one request, in order. */
export async function auditOf(
  queue: Redis,
  prefix: string,
  id: string,
): Promise<{ event: string; user: string; detail: string }[]> {
  return (await queue.xrange(`${prefix}:audit`, '-', '+'))
    .map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      return f;
    })
    .filter((f) => f.request === id)
    .map((f) => ({ event: f.event ?? '', user: f.user ?? '', detail: f.detail ?? '' }));
}

/** Waits for the request to reach a final state and returns it. */
export function finalState(queue: Redis, prefix: string, id: string, timeoutMs = 60_000) {
  return waitFor(
    `request ${id} to end`,
    async () => {
      const doc = await requestDoc(queue, prefix, id);
      return FINAL_STATUSES.includes(doc.status) && doc;
    },
    { timeoutMs },
  );
}

/** The bot's /readyz answer: the HTTP status and the body naming each dependency. */
export async function readyz(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return {
    status: response.status,
    body: (await response.json()) as {
      status: string;
      dependencies: {
        slack: { ok: boolean; detail: string };
        slackWebApi?: { ok: boolean; detail: string };
        queueRedis?: { ok: boolean; detail: string };
      };
    },
  };
}
