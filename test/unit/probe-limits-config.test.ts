import { describe, expect, it } from 'vitest';
import { probeOptions } from '../../src/cluster-probe.js';
import { loadConfig } from '../../src/config.js';

const base = {
  SLACK_BOT_TOKEN: 'xoxb-1',
  SLACK_SIGNING_SECRET: 'secret-123456',
  CLUSTERS: 'prod=10.0.0.1:6379',
};

describe('probe limits in the configuration', () => {
  it('defaults to 16 MiB per reply and 1000 nodes, and hands them to every probe', () => {
    const config = loadConfig(base);

    expect(config.probeLimits).toEqual({ maxReplyBytes: 16_777_216, maxNodes: 1000 });
    expect(probeOptions(config.clusters[0] ?? { name: '', seeds: [], channel: null })).toMatchObject({
      maxReplyBytes: 16_777_216,
      maxNodes: 1000,
    });
  });

  it('reads PROBE_MAX_REPLY_BYTES and PROBE_MAX_NODES', () => {
    const config = loadConfig({ ...base, PROBE_MAX_REPLY_BYTES: '1048576', PROBE_MAX_NODES: '50' });

    expect(config.clusters[0]?.probeLimits).toEqual({ maxReplyBytes: 1_048_576, maxNodes: 50 });
  });

  it.each([
    [{ PROBE_MAX_REPLY_BYTES: 'big' }, /→ at PROBE_MAX_REPLY_BYTES/],
    [{ PROBE_MAX_REPLY_BYTES: '1024' }, /must be at least 65536 \(64 KiB\)\s+→ at PROBE_MAX_REPLY_BYTES/],
    [{ PROBE_MAX_NODES: '0' }, /must be at least 1\s+→ at PROBE_MAX_NODES/],
    [{ PROBE_MAX_NODES: '1.5' }, /must be a whole number\s+→ at PROBE_MAX_NODES/],
    [
      { PROBE_MAX_NODES: '100000' },
      /must be at most 1000 \(Redis Cluster's own ceiling.*\s+→ at PROBE_MAX_NODES/,
    ],
  ])('refuses %j naming the variable', (override, message) => {
    expect(() => loadConfig({ ...base, ...override })).toThrow(message);
  });
});
