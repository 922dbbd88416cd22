import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = {
  SLACK_BOT_TOKEN: 'xoxb-1',
  SLACK_SIGNING_SECRET: 'secret-123456',
  CLUSTERS: 'prod=10.0.0.1:6379',
};

describe('the queue Redis settings', () => {
  it('reads a plain URL and does not wait for replicas', () => {
    const config = loadConfig({ ...base, QUEUE_REDIS_URL: 'redis://10.0.0.9:6379' });

    expect(config.queueRedis).toEqual({
      target: { kind: 'url', url: 'redis://10.0.0.9:6379' },
      waitReplicas: 0,
      waitTimeoutMs: 1000,
    });
  });

  it('reads sentinels, the master name and both passwords, and waits for one replica by default', () => {
    const config = loadConfig({
      ...base,
      QUEUE_REDIS_SENTINELS: 'sentinel-a:26379, 10.0.0.5:26380,[::1]:26381',
      QUEUE_REDIS_MASTER_NAME: 'slotwatch-queue',
      QUEUE_REDIS_PASSWORD: 'master-secret',
      QUEUE_REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    });

    expect(config.queueRedis).toEqual({
      target: {
        kind: 'sentinel',
        sentinels: [
          { host: 'sentinel-a', port: 26379 },
          { host: '10.0.0.5', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        masterName: 'slotwatch-queue',
        password: 'master-secret',
        sentinelPassword: 'sentinel-secret',
      },
      waitReplicas: 1,
      waitTimeoutMs: 1000,
    });
  });

  it('takes an explicit WAIT setting', () => {
    const config = loadConfig({
      ...base,
      QUEUE_REDIS_SENTINELS: '10.0.0.5:26379',
      QUEUE_REDIS_MASTER_NAME: 'q',
      QUEUE_REDIS_WAIT_REPLICAS: '0',
      QUEUE_REDIS_WAIT_TIMEOUT: '250ms',
    });

    expect(config.queueRedis).toMatchObject({ waitReplicas: 0, waitTimeoutMs: 250 });
  });

  it('has no queue Redis when nothing is set', () => {
    expect(loadConfig(base).queueRedis).toBeNull();
  });

  it.each([
    [{ QUEUE_REDIS_SENTINELS: '10.0.0.5:26379' }, 'QUEUE_REDIS_MASTER_NAME is not set'],
    [{ QUEUE_REDIS_MASTER_NAME: 'q' }, 'QUEUE_REDIS_SENTINELS is not set'],
    [{ QUEUE_REDIS_SENTINELS: '10.0.0.5', QUEUE_REDIS_MASTER_NAME: 'q' }, '"10.0.0.5" is not host:port'],
    [
      { QUEUE_REDIS_SENTINELS: '10.0.0.5:99999', QUEUE_REDIS_MASTER_NAME: 'q' },
      '"10.0.0.5:99999" is not host:port',
    ],
    [{ QUEUE_REDIS_SENTINELS: 'a:1', QUEUE_REDIS_MASTER_NAME: 'q w' }, 'QUEUE_REDIS_MASTER_NAME'],
    [
      { QUEUE_REDIS_URL: 'redis://a:1', QUEUE_REDIS_SENTINELS: 'a:26379', QUEUE_REDIS_MASTER_NAME: 'q' },
      'QUEUE_REDIS_URL and QUEUE_REDIS_SENTINELS/QUEUE_REDIS_MASTER_NAME are both set',
    ],
    [{ QUEUE_REDIS_URL: 'redis://a:1', QUEUE_REDIS_PASSWORD: 'x' }, 'are for Sentinel only'],
    [
      { QUEUE_REDIS_SENTINELS: 'a:1', QUEUE_REDIS_MASTER_NAME: 'q', QUEUE_REDIS_WAIT_REPLICAS: '-1' },
      'QUEUE_REDIS_WAIT_REPLICAS',
    ],
  ])('refuses %j naming what is wrong', (override, message) => {
    const load = () => loadConfig({ ...base, ...override });

    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });
});
