import type { Redis } from 'ioredis';
import { keySlot } from '../../src/core/key-slot.js';
import { SLOT_COUNT } from '../../src/core/slot-ranges.js';

let tags: string[] | undefined;

/** A hash tag for every slot: `{tag}` keys land in that slot. */
function tagsBySlot(): string[] {
  if (tags) return tags;
  const found = new Array<string>(SLOT_COUNT);
  let remaining = SLOT_COUNT;
  for (let i = 0; remaining > 0; i++) {
    const tag = i.toString(36);
    const slot = keySlot(tag);
    if (found[slot] === undefined) {
      found[slot] = tag;
      remaining--;
    }
  }
  tags = found;
  return found;
}

export const keyInSlot = (slot: number, name: string | number = 0): string =>
  `{${tagsBySlot()[slot]}}:${name}`;

/** Writes `count` string keys into `slot` directly on `redis` (the node must accept them). */
export async function writeKeys(redis: Redis, slot: number, count: number, prefix = 'k'): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => keyInSlot(slot, `${prefix}${i}`));
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.set(key, `value-of-${key}`);
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
  return keys;
}
