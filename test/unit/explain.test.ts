import { describe, expect, it } from 'vitest';
import { explainError } from '../../src/core/explain.js';
import { KNOWLEDGE_BASE } from '../../src/core/knowledge-base.js';
import { FINDING_CODES } from '../../src/core/report.js';
import { cli } from '../support/cli.js';

describe('explainError', () => {
  it.each(FINDING_CODES)('explains the finding code %s, in any case', (code) => {
    const entry = explainError(` ${code.toLowerCase()} `);
    expect(entry?.id).toBe(code);
    expect(entry?.title.startsWith(`${code}: `)).toBe(true);
    expect(entry?.fix.length).toBeGreaterThan(0);
  });

  it.each([
    ['CLUSTERDOWN The cluster is down', 'clusterdown'],
    ['(error) CLUSTERDOWN The cluster is down', 'clusterdown'],
    ['redis.exceptions.ClusterDownError: clusterdown the cluster is down (after 3 retries)', 'clusterdown'],
    ['CLUSTERDOWN Hash slot not served', 'clusterdown-hash-slot-not-served'],
    ['CLUSTERDOWN The cluster is down and only accepts read commands', 'clusterdown-read-only'],
    ['(error) MOVED 3999 127.0.0.1:6381', 'moved'],
    ['ASK 3999 10.0.0.2:6379', 'ask'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'tryagain'],
    ["(error) CROSSSLOT Keys in request don't hash to the same slot", 'crossslot'],
    ['ERR fsync error', 'fsync-error'],
    [
      "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
      'unbalanced-xread',
    ],
    ['(error) ERR syntax error', 'syntax-error'],
    ['Job for redis-server.service failed because a timeout was exceeded.', 'redis-service-timeout'],
    ['ERR Job for redis-server.service failed because a timeout was exceeded', 'redis-service-timeout'],
  ])('matches %j', (text, id) => {
    expect(explainError(text)?.id).toBe(id);
  });

  it('finds nothing for unrelated text', () => {
    expect(explainError('WRONGTYPE Operation against a key holding the wrong kind of value')).toBeNull();
    expect(explainError('   ')).toBeNull();
  });

  it('has cause, checks and fixes in every entry', () => {
    for (const entry of KNOWLEDGE_BASE) {
      expect(entry.cause.length).toBeGreaterThan(40);
      expect(entry.check.length).toBeGreaterThan(0);
      expect(entry.fix.length).toBeGreaterThan(0);
    }
  });
});

describe('slotwatch explain', () => {
  it('prints cause, checks and fixes and exits 0', async () => {
    const run = await cli(['explain', '(error) CLUSTERDOWN Hash slot not served']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^CLUSTERDOWN Hash slot not served\n\nCause\n/);
    expect(run.stdout).toContain('Fix\n  - ');
  });

  it('lists the known errors and exits 1 when nothing matches', async () => {
    const run = await cli(['explain', 'WRONGTYPE nope']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no runbook entry matches "WRONGTYPE nope"');
    expect(run.stderr).toContain('CLUSTERDOWN The cluster is down');
  });

  it('exits 2 without text', async () => {
    const run = await cli(['explain']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^slotwatch: explain needs the error text/);
  });
});
