import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parseDuration } from '../../src/duration.js';

const base = {
  SLACK_BOT_TOKEN: 'xoxb-1',
  SLACK_SIGNING_SECRET: 'secret-123456',
  CLUSTERS: 'prod=10.0.0.1:6379,10.0.0.2:6379',
};

describe('loadConfig', () => {
  it('reads a minimal HTTP-mode configuration with defaults', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      slack: { mode: 'http', botToken: 'xoxb-1' },
      clusters: [{ name: 'prod', seeds: ['10.0.0.1:6379', '10.0.0.2:6379'], channel: null }],
      defaultCluster: 'prod',
      approvalsRequired: 2,
      approvalTtlMs: 30 * 60_000,
      monitorIntervalMs: 15_000,
      readOnly: false,
      port: 3000,
    });
  });

  it('chooses Socket Mode when an app token is set and normalises the API URL', () => {
    const config = loadConfig({
      ...base,
      SLACK_APP_TOKEN: 'xapp-1-abc',
      SLACK_API_URL: 'http://127.0.0.1:9/api',
    });
    expect(config.slack).toMatchObject({ mode: 'socket', apiUrl: 'http://127.0.0.1:9/api/' });
  });

  it('reads clusters from a YAML file with secrets from the environment and files', () => {
    const files: Record<string, string> = {
      '/etc/slotwatch/clusters.yaml': [
        'clusters:',
        '  - name: cache',
        '    seeds: [10.1.0.1:6379]',
        '    channel: C0CACHE',
        '    passwordEnv: CACHE_PASSWORD',
        '    tls: { caFile: /etc/ca.pem }',
        '    addressMap: { "10.1.0.1:6379": "cache-0.example:6379" }',
        '  - name: sessions',
        '    seeds: [10.2.0.1:6379]',
        '    username: probe',
        '    passwordFile: /run/secrets/sessions',
      ].join('\n'),
      '/etc/ca.pem': 'CA',
      '/run/secrets/sessions': 'pw2\n',
    };
    const config = loadConfig(
      { ...base, CLUSTERS_FILE: '/etc/slotwatch/clusters.yaml', CACHE_PASSWORD: 'pw1' },
      (path) => {
        const content = files[path];
        if (content === undefined) throw new Error('ENOENT');
        return content;
      },
    );
    expect(config.clusters.map((c) => c.name)).toEqual(['prod', 'cache', 'sessions']);
    expect(config.clusters[1]).toMatchObject({ channel: 'C0CACHE', password: 'pw1', tls: { ca: 'CA' } });
    expect(config.clusters[2]).toMatchObject({ username: 'probe', password: 'pw2' });
  });

  it.each([
    [{ SLACK_BOT_TOKEN: 'nope' }, 'SLACK_BOT_TOKEN'],
    [{ SLACK_SIGNING_SECRET: undefined }, 'set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET'],
    [{ CLUSTERS: undefined }, 'there is no cluster to watch'],
    [{ CLUSTERS: 'prod' }, 'CLUSTERS: "prod" must be name=host:port'],
    [{ CLUSTERS: 'prod=localhost' }, 'is not host:port'],
    [{ CLUSTERS: 'a=h:1;a=h:2' }, 'cluster "a" is defined twice'],
    [{ APPROVAL_TTL: 'soon' }, 'APPROVAL_TTL must be a duration'],
    [{ APPROVALS_REQUIRED: '0' }, 'APPROVALS_REQUIRED'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ QUEUE_REDIS_URL: 'localhost:6379' }, 'QUEUE_REDIS_URL'],
    [{ SLACK_APPROVERS: 'U0123ABCD,bob' }, '"bob" is not a Slack user id'],
    [{ SLACK_APPROVERS: 'U0123ABCD', APPROVALS_REQUIRED: '2' }, 'no repair could ever be approved'],
    [{ CLUSTERS_FILE: '/missing.yaml' }, 'CLUSTERS_FILE: cannot read /missing.yaml'],
  ])('refuses %j naming what is wrong', (override, message) => {
    const env = { ...base, ...override };
    expect(() =>
      loadConfig(env, () => {
        throw new Error('ENOENT');
      }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig(env, () => {
        throw new Error('ENOENT');
      }),
    ).toThrow(message);
  });
});

describe('parseDuration', () => {
  it.each([
    ['15s', 15_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['90', 90_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['soon', null],
    ['-5s', null],
  ])('%s → %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
