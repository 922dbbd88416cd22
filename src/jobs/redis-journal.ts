import type { Redis } from 'ioredis';
import type { Journal } from '../core/repair/journal.js';

/** The executor's journal in the queue Redis, so a job picked up after a crash resumes at a step boundary. */
export function redisJournal(redis: Redis, key: string, keepMs = 7 * 86_400_000): Journal {
  return {
    finishedSteps: async () => new Set((await redis.smembers(key)).map(Number)),
    markFinished: async (step) => {
      await redis.multi().sadd(key, String(step)).pexpire(key, keepMs).exec();
    },
  };
}
