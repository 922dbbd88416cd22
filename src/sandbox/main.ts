import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import {
  deleteSlotsEverywhere,
  interruptResharding,
  killMasterAndReplicas,
} from '../../test/support/break.js';
import {
  NODE_TIMEOUT_MS,
  startCluster,
  startNode,
  type TestCluster,
  type TestNode,
} from '../../test/support/cluster.js';
import { seedData } from '../../test/support/data.js';
import { chooseBackend } from '../../test/support/redis-backend.js';
import { loadConfig } from '../config.js';
import { startSlotwatch } from '../main.js';
import { SlackConsole } from './console-server.js';
import { SLACK_MODES } from './slack-modes.js';

const SECRET = 'sandbox-signing-secret';
const APPROVER_GROUP = 'S0ONCALL01';
const USERS = [
  { id: 'U0REQUEST1', name: 'requester' },
  { id: 'U0APPROVE1', name: 'approver-1' },
  { id: 'U0APPROVE2', name: 'approver-2' },
  { id: 'U0APPROVE3', name: 'approver-3' },
];

function haveRedis(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What a reset replaces: the cluster, the queue Redis and the bot. */
interface World {
  readonly cluster: TestCluster;
  /** Ports of nodes the sandbox killed (until restarted). */
  readonly killed: Set<number>;
  /** Each node's data directory, where its nodes.conf stays for a restart. */
  readonly dirs: ReadonlyMap<number, string>;
  stop(): Promise<void>;
}

/** How the sandbox starts a cluster node (as the test harness does). */
const NODE_CONFIG = {
  'cluster-enabled': 'yes',
  'cluster-config-file': 'nodes.conf',
  'cluster-node-timeout': String(NODE_TIMEOUT_MS),
  bind: '127.0.0.1',
  'protected-mode': 'no',
  save: '',
  appendonly: 'no',
  'repl-diskless-sync-delay': '0',
};

export interface Sandbox {
  readonly url: string;
  readonly console: SlackConsole;
  stop(): Promise<void>;
}

export type SlackMode = 'socket' | 'http';

export interface SandboxOptions {
  readonly port?: number;
  readonly logLevel?: string;
  readonly say?: (text: string) => void;
  /** How the bot talks to the console: Socket Mode (as most internal bots run) or signed HTTP. @defaultValue 'socket' */
  readonly slackMode?: SlackMode;
}

/** A 6-node cluster, a queue Redis, the bot (Socket Mode or HTTP) and a local Slack console, all on this machine. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const slackMode = options.slackMode ?? 'socket';
  const say = options.say ?? (() => {});
  const backend = await chooseBackend();
  if (backend.name === 'local redis-server' && !haveRedis()) {
    throw new Error(
      'neither a Docker engine nor redis-server is available: install redis-server (apt-get install redis-server) or start Docker',
    );
  }
  let world: World | null = null;
  const current = (): World => {
    if (!world) throw new Error('the sandbox is being reset');
    return world;
  };
  const ready = (node: TestNode) => !current().killed.has(node.port);
  let botUrl = '';
  const slack = new SlackConsole({
    mode: slackMode,
    signingSecret: SECRET,
    botUrl: () => botUrl,
    channel: 'C0INCIDENT',
    users: USERS,
    // approver-2 and approver-3 approve through a user group, like teams that list an on-call group in
    // SLACK_APPROVERS; with three approvers, the two-person rule holds while one of them is the requester.
    userGroups: { [APPROVER_GROUP]: ['U0APPROVE2', 'U0APPROVE3'] },
    channelNames: { '#redis-incidents': 'C0INCIDENT' },
    slackModes: SLACK_MODES,
    breakers: {
      'kill a master and its replica': async () => {
        const { cluster, killed } = current();
        const victim = cluster.masters.find(ready);
        if (!victim) return 'no master left to kill';
        const dead = [victim, ...cluster.replicaOf(victim)];
        for (const node of dead) killed.add(node.port);
        await killMasterAndReplicas(cluster, victim);
        return `killed ${victim.address} and its replica`;
      },
      'restart the killed nodes (empty, with their nodes.conf)': async () => {
        const { cluster, killed, dirs } = current();
        const dead = cluster.nodes.filter((n) => killed.has(n.port));
        if (dead.length === 0) return 'no node is down';
        if (backend.name !== 'local redis-server') return 'restarting needs the local redis-server backend';
        for (const node of dead) {
          await backend.start(node.port, {
            ...NODE_CONFIG,
            'cluster-port': String(node.busPort),
            dir: dirs.get(node.port) ?? '',
          });
          killed.delete(node.port);
        }
        return `restarted ${dead.map((n) => n.address).join(', ')}: back with their old identity and no data (persistence is off)`;
      },
      'delete slots 6000-6099 everywhere': async () => {
        const { cluster } = current();
        await deleteSlotsEverywhere(cluster.nodes.filter(ready), 6000, 6099);
        return 'deleted slots 6000-6099 on every node (their keys stay on the old owner)';
      },
      'interrupt a resharding of slot 12001': async () => {
        const [, target, owner] = current().cluster.masters;
        if (!owner || !target) return 'masters missing';
        await interruptResharding(owner, target, 12001, 20, 8);
        return `slot 12001 left half-migrated from ${owner.address} to ${target.address}`;
      },
      'isolate a replica (CLUSTER RESET SOFT)': async () => {
        const replica = current().cluster.replicas.find(ready);
        if (!replica) return 'no replica left';
        await replica.redis.call('CLUSTER', 'RESET', 'SOFT');
        return `${replica.address} now knows only itself`;
      },
      'reset the sandbox (a new healthy cluster, the channel cleared)': async () => {
        const old = current();
        world = null;
        await old.stop();
        slack.clear();
        world = await startWorld();
        return 'a new healthy 6-node cluster and queue Redis; the bot was restarted against them';
      },
      ...(slackMode === 'socket'
        ? {
            "Slack: cut the bot's socket for 5 s": async () => {
              // Refuses apps.connections.open meanwhile, so the bot backs off and /readyz says not ready.
              slack.socketMode.refuseOpens = Number.POSITIVE_INFINITY;
              slack.socketMode.drop();
              await new Promise((resolve) => setTimeout(resolve, 5000));
              slack.socketMode.refuseOpens = 0;
              return 'socket cut and Slack refused new ones for 5 s; the bot reconnects with backoff';
            },
            'Slack: ask the bot to reconnect (refresh)': async () => {
              slack.socketMode.refresh();
              return 'sent {"type":"disconnect","reason":"refresh_requested"}';
            },
          }
        : {}),
    },
  });
  await slack.start(options.port ?? 0);

  /** A healthy cluster with data, a queue Redis and the bot against them. */
  async function startWorld(): Promise<World> {
    say(`Starting a 6-node Redis Cluster (${backend.name}) and a queue Redis…\n`);
    const cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 1 });
    const queue = await startNode(backend, {});
    await seedData(cluster, [10, 20, 6000, 12000], 2000);
    const dirs = new Map<number, string>();
    for (const node of cluster.nodes) {
      const [, dir = ''] = (await node.redis.call('CONFIG', 'GET', 'dir')) as string[];
      dirs.set(node.port, dir);
    }
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-sandbox',
      ...(slackMode === 'socket' ? { SLACK_APP_TOKEN: 'xapp-sandbox' } : { SLACK_SIGNING_SECRET: SECRET }),
      SLACK_API_URL: slack.apiUrl,
      CLUSTERS: `sandbox=${cluster.nodes.map((n) => n.address).join(',')}`,
      // A name, as in .env.example: the bot must use the ID Slack answers with for edits and uploads.
      ALERT_CHANNEL: '#redis-incidents',
      QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
      QUEUE_PREFIX: `sandbox${Date.now()}`,
      SLACK_APPROVERS: `U0APPROVE1,${APPROVER_GROUP}`,
      WEBHOOK_TOKEN: 'sandbox-webhook-token-0123',
      MONITOR_INTERVAL: '2s',
      PORT: '0',
      LOG_LEVEL: options.logLevel ?? 'warn',
    });
    const bot = await startSlotwatch(config, pino({ level: config.logLevel }));
    botUrl = `http://127.0.0.1:${bot.port}`;
    return {
      cluster,
      killed: new Set(),
      dirs,
      stop: async () => {
        await bot.stop();
        await cluster.stop();
        await queue.process.kill();
      },
    };
  }

  world = await startWorld();
  return {
    url: slack.url,
    console: slack,
    stop: async () => {
      await world?.stop();
      await slack.stop();
      await backend.stopAll();
    },
  };
}

/** `npm run sandbox [-- --http]`: prints one URL; Ctrl-C stops everything it started. */
async function main(): Promise<void> {
  const say = (text: string) => process.stdout.write(text);
  const mode = process.argv.includes('--http') ? 'http' : (process.env.SANDBOX_SLACK_MODE ?? 'socket');
  if (mode !== 'socket' && mode !== 'http') {
    process.stderr.write(`sandbox: SANDBOX_SLACK_MODE must be socket or http, not "${mode}"\n`);
    process.exit(2);
  }
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      port: Number(process.env.SANDBOX_PORT ?? 0),
      logLevel: process.env.LOG_LEVEL ?? 'warn',
      say,
      slackMode: mode,
    });
  } catch (error) {
    process.stderr.write(`sandbox: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  say(
    `\nSlotwatch sandbox ready (Slack ${mode === 'socket' ? 'Socket Mode' : 'HTTP mode'}): open ${sandbox.url}\n(Ctrl-C stops the bot, the console and every Redis it started)\n`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('\nStopping…\n');
    await sandbox.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (process.argv[1] && import.meta.url === new URL(process.argv[1], 'file:').href) await main();
