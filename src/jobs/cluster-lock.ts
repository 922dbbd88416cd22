import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/** One repair per cluster at a time, across bot replicas and `slotwatch fix`. */
export class ClusterLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(cluster: string): string {
    return `${this.prefix}:lock:${cluster}`;
  }

  /** True when taken (or already held by `owner`, e.g. a resumed job). */
  async take(cluster: string, owner: string, ttlMs: number): Promise<boolean> {
    const taken = await this.redis.set(this.key(cluster), owner, 'PX', ttlMs, 'NX');
    if (taken === 'OK') return true;
    return (await this.redis.eval(EXTEND, 1, this.key(cluster), owner, ttlMs)) === 1;
  }

  holder(cluster: string): Promise<string | null> {
    return this.redis.get(this.key(cluster));
  }

  async extend(cluster: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(EXTEND, 1, this.key(cluster), owner, ttlMs)) === 1;
  }

  async release(cluster: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(cluster), owner);
  }
}
