import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = {
  SLACK_BOT_TOKEN: 'xoxb-1',
  SLACK_SIGNING_SECRET: 'secret-123456',
  CLUSTERS: 'prod=10.0.0.1:6379',
};

function clustersFile(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'slotwatch-config-')), 'clusters.yaml');
  writeFileSync(path, yaml);
  return path;
}

const failure = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
};

describe('loadConfig: where alerts go', () => {
  it('refuses webhooks when a cluster has no channel and ALERT_CHANNEL is unset, naming the cluster', () => {
    const path = clustersFile(
      [
        '- name: cache',
        '  seeds: [10.1.0.1:6379]',
        '  channel: C0CACHE',
        '- name: queue',
        '  seeds: [10.2.0.1:6379]',
      ].join('\n'),
    );
    const message = failure({ ...base, CLUSTERS_FILE: path, WEBHOOK_TOKEN: 'w'.repeat(16) });
    expect(message).toContain('ALERT_CHANNEL is not set');
    expect(message).toContain('prod, queue');
    expect(message).not.toContain('cache');
  });

  it.each([
    [
      'every cluster has a channel or ALERT_CHANNEL is set',
      { ALERT_CHANNEL: 'C0ALERTS', WEBHOOK_TOKEN: 'w'.repeat(16) },
    ],
    ['webhooks are off', {}],
  ])('starts when %s', (_name, extra) => {
    expect(loadConfig({ ...base, ...extra }).clusters).toHaveLength(1);
  });
});

describe('loadConfig: TLS of a cluster in CLUSTERS_FILE', () => {
  it('names the cluster and the path of a CA file that does not exist', () => {
    const path = clustersFile(
      ['- name: secure', '  seeds: [10.1.0.1:6379]', '  tls: { caFile: /nonexistent/ca.pem }'].join('\n'),
    );
    const message = failure({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'secret-123456',
      CLUSTERS_FILE: path,
    });
    expect(message).toBe('CLUSTERS_FILE: cluster secure: cannot read tls.caFile /nonexistent/ca.pem: ENOENT');
  });

  it('reads a CA file that exists', () => {
    const ca = clustersFile('-----BEGIN CERTIFICATE-----\n');
    const path = clustersFile(
      ['- name: secure', '  seeds: [10.1.0.1:6379]', `  tls: { caFile: ${ca} }`].join('\n'),
    );
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'secret-123456',
      CLUSTERS_FILE: path,
    });
    expect(config.clusters[0]?.tls).toEqual({ ca: '-----BEGIN CERTIFICATE-----\n' });
  });
});
