import type { QueueRedisTarget } from '../../config.js';
import { hasErrors } from '../../core/analyze.js';
import { diagnose } from '../../core/diagnose.js';
import { executeRepair } from '../../core/repair/execute.js';
import { planNotes, planRepairs } from '../../core/repair/planner.js';
import { type CliIo, UsageError } from '../io.js';
import { renderEvent, renderOptions, renderResult } from '../render-plan.js';
import { makeStyle } from '../style.js';
import { clusterArgs } from './shared.js';

export async function planCommand(args: string[], io: CliIo): Promise<number> {
  const { seeds, values, options } = await clusterArgs('plan', args, { json: { type: 'boolean' } }, io);
  const report = await diagnose(seeds, options);
  if (!report.ok) throw new UsageError(report.error.message);
  const repairs = planRepairs(report.value);
  const notes = planNotes(report.value);
  io.stdout(
    values.json
      ? `${JSON.stringify(repairs, null, 2)}\n`
      : `${renderOptions(repairs, seeds.join(','), makeStyle(io.color))}${notes.map((n) => `Note: ${n}\n`).join('')}`,
  );
  return 0;
}

const FIX_OPTIONS = {
  option: { type: 'string' },
  yes: { type: 'boolean' },
  'accept-data-loss': { type: 'boolean' },
  'queue-redis': { type: 'string' },
  'cluster-name': { type: 'string' },
} as const;

/** With a queue Redis, `fix` takes the same one-repair-per-cluster lock as the bot. */
async function withClusterLock<T>(
  target: QueueRedisTarget | undefined,
  prefix: string,
  name: string,
  run: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (!target) return run(undefined);
  // Loaded only when a queue Redis is configured: ioredis costs a break-glass `fix` a noticeable start-up.
  const [{ ClusterLock }, { openQueueRedis }] = await Promise.all([
    import('../../jobs/cluster-lock.js'),
    import('../../jobs/queue-redis.js'),
  ]);
  const open = () => {
    const redis = openQueueRedis(target, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      sentinelRetryStrategy: (attempt) => (attempt > 3 ? null : 200),
    });
    redis.on('error', () => {});
    return redis;
  };
  const redis = open();
  try {
    await redis.connect();
  } catch (error) {
    throw new UsageError(`cannot reach the queue Redis for the repair lock: ${(error as Error).message}`);
  }
  const lock = new ClusterLock(redis, prefix);
  const owner = `cli-${process.pid}-${Date.now()}`;
  try {
    if (!(await lock.take(name, owner, 10 * 60_000))) {
      throw new UsageError(`another repair (${await lock.holder(name)}) is running on ${name}; wait for it`);
    }
    // A lock that could not be renewed (taken by someone else) stops the repair at the next step boundary.
    const lost = new AbortController();
    const renew = setInterval(() => {
      lock.extend(name, owner, 10 * 60_000).then(
        (held) => held || lost.abort('the cluster lock was lost to another repair'),
        () => {},
      );
    }, 30_000);
    try {
      return await run(lost.signal);
    } finally {
      clearInterval(renew);
      await lock.release(name, owner).catch(async () => {
        // The connection died during the repair (a failover, a restart): release through a fresh one.
        const again = open();
        try {
          await again.connect();
          await new ClusterLock(again, prefix).release(name, owner);
        } finally {
          again.disconnect();
        }
      });
    }
  } finally {
    redis.disconnect();
  }
}

/** --queue-redis wins; else QUEUE_REDIS_URL, or QUEUE_REDIS_SENTINELS + QUEUE_REDIS_MASTER_NAME, as the bot reads them. */
async function queueTarget(
  flag: string | boolean | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<QueueRedisTarget | undefined> {
  const configured = Object.entries(env).some(([k, v]) => k.startsWith('QUEUE_REDIS_') && v);
  if (typeof flag !== 'string' && !configured) return undefined;
  // The settings' validation (zod) is loaded only when there is something to validate.
  const { ConfigError, queueRedisSettings } = await import('../../config.js');
  try {
    return queueRedisSettings(typeof flag === 'string' ? { QUEUE_REDIS_URL: flag } : env)?.target;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message.replace(/\n/g, ' '));
    throw error;
  }
}

export async function fixCommand(args: string[], io: CliIo): Promise<number> {
  const { seeds, values, options } = await clusterArgs('fix', args, FIX_OPTIONS, io);
  const queue = await queueTarget(values['queue-redis'], io.env);
  const id = values.option;
  if (typeof id !== 'string')
    throw new UsageError('fix needs --option <id> (see slotwatch plan)', { showUsage: true });
  const style = makeStyle(io.color);
  const report = await diagnose(seeds, options);
  if (!report.ok) throw new UsageError(report.error.message);
  const repairs = planRepairs(report.value);
  const option = repairs.find((o) => o.id === id);
  if (!option) {
    const known = repairs.map((o) => o.id).join(', ') || 'none: nothing to repair';
    // What the plan leaves out on purpose (slots moving, slots for a person) says how to wait or whom to call.
    const notes = planNotes(report.value).map((n) => `\nNote: ${n}`);
    throw new UsageError(
      `no repair option "${id}" for the current state; options now: ${known}${notes.join('')}`,
    );
  }
  if (option.risk === 'data-loss' && !values['accept-data-loss']) {
    throw new UsageError(
      `"${option.title}" loses data (${option.loss?.description ?? 'see slotwatch plan'}); add --accept-data-loss once you have decided that is acceptable`,
    );
  }
  if (!values.yes) {
    const answer = io.prompt
      ? await io.prompt(`${renderOptions([option], seeds.join(','), style)}\nType the option id to run it: `)
      : null;
    if (answer?.trim() !== option.id) {
      throw new UsageError(
        io.prompt
          ? 'not confirmed: nothing was changed'
          : 'fix changes the cluster: add --yes (no terminal to ask on)',
      );
    }
  }
  io.stdout(`${style.bold(option.title)} (${option.steps.length} steps)\n`);
  const lockName = typeof values['cluster-name'] === 'string' ? values['cluster-name'] : (seeds[0] ?? '');
  const result = await withClusterLock(queue, io.env.QUEUE_PREFIX ?? 'slotwatch', lockName, (signal) =>
    executeRepair(option, seeds, {
      ...options,
      ...(signal ? { signal } : {}),
      acceptDataLoss: values['accept-data-loss'] === true,
      // Read moments ago unless a person was asked first (the answer may come minutes later).
      ...(values.yes ? { freshReport: report.value } : {}),
      onEvent: (event) => io.stdout(renderEvent(event, style)),
    }),
  );
  io.stdout(renderResult(result, style));
  return result.status === 'done' && result.after !== null && !hasErrors(result.after) ? 0 : 1;
}
