import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Report } from '../../src/core/report.js';
import { killMasterAndReplicas } from '../support/break.js';
import { cli } from '../support/cli.js';
import { startNode } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import { writeKeys } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { makeTestTls, type TestTls } from '../support/tls.js';

const harness = clusterPerTest();

describe('slotwatch check', () => {
  it('exits 0 and prints a compact report for a healthy cluster', async () => {
    const cluster = await harness.start();

    const run = await cli(['check', cluster.seeds.join(',')]);

    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(
      /^OK {2}16384\/16384 slots covered \(100\.0%\), 0 uncovered · 0 errors, 0 warnings/,
    );
    expect(run.stdout).toContain('Findings\n  none');
  });

  it('exits 1 with a gap table and JSON that follows the Report contract when the cluster is down', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const alive = await killMasterAndReplicas(cluster, victim);
    const seeds = alive.map((n) => n.address).join(',');

    const human = await cli(['check', seeds]);
    const json = await cli(['check', seeds, '--json']);

    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^FAIL CLUSTERDOWN {2}10923\/16384 slots covered/);
    expect(human.stdout).toMatch(/0-5460\s+5461\s+owner-failed\s+127\.0\.0\.1:\d+ \(\w{8}\)\s+unknown/);
    expect(human.stdout).toContain('ERROR  CLUSTER_DOWN');
    expect(json.code).toBe(1);
    const report = Report.parse(JSON.parse(json.stdout));
    expect(report.slots.gaps).toHaveLength(1);
  });

  it('says the password is wrong and exits 2', async () => {
    const cluster = await harness.start({ password: 's3cret', masters: 3, replicasPerMaster: 0 });

    const wrong = await cli(['check', cluster.seeds.join(','), '--password', 'nope']);
    const none = await cli(['check', cluster.seeds.join(',')]);
    const right = await cli(
      ['check', cluster.seeds.join(','), '--password-file', '/run/pw'],
      {},
      { '/run/pw': 's3cret\n' },
    );
    const fromEnv = await cli(['check', cluster.seeds.join(',')], { SLOTWATCH_PASSWORD: 's3cret' });

    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /^slotwatch: authentication refused by 127\.0\.0\.1:\d+: invalid username-password pair/,
    );
    expect(wrong.stderr).not.toContain('nope');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/authentication/);
    expect(right.code).toBe(0);
    expect(right.stdout).toContain('MASTER_NO_REPLICA');
    expect(fromEnv.code).toBe(0);
  });

  it('authenticates as an ACL user with --user', async () => {
    const cluster = await harness.start({ password: 's3cret', masters: 3, replicasPerMaster: 0 });
    await Promise.all(
      cluster.nodes.map((n) =>
        n.redis.call('ACL', 'SETUSER', 'probe', 'on', '>probe-pw', '~*', '&*', '+@all'),
      ),
    );

    const good = await cli(['check', cluster.seeds.join(','), '--user', 'probe', '--password', 'probe-pw']);
    const bad = await cli(['check', cluster.seeds.join(','), '--user', 'probe', '--password', 's3cret']);
    const noPassword = await cli(['check', cluster.seeds.join(','), '--user', 'probe']);

    expect(good.code).toBe(0);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('authentication refused');
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('--user needs a password');
  });

  it('reports NOT_CLUSTER for a plain redis-server and exits 1', async () => {
    const plain = await startNode(harness.backend, {});

    const run = await cli(['check', `127.0.0.1:${plain.port}`, '--json']);
    await plain.process.kill();

    expect(run.code).toBe(1);
    const report = Report.parse(JSON.parse(run.stdout));
    expect(report.findings.map((f) => f.code)).toEqual(['NOT_CLUSTER']);
    expect(report.state).toBe('fail');
  });

  it('exits 2 when nothing listens on any seed', async () => {
    const port = await freePort();

    const run = await cli(['check', `127.0.0.1:${port}`]);

    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`slotwatch: no seed answered (127.0.0.1:${port}: connection refused)\n`);
  });

  it('reports a stopped node as unreachable and finishes while the node is still stopped', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    await writeKeys(victim.redis, 1, 1);
    await victim.process.pause();

    const seeds = cluster.nodes.filter((n) => n !== victim).map((n) => n.address);
    // The node answers nothing until it is resumed below: a CLI that waited for it would hang to the test timeout.
    const run = await cli(['check', seeds.join(','), '--json', '--timeout-ms', '500']).finally(() =>
      victim.process.resume(),
    );

    const report = Report.parse(JSON.parse(run.stdout));
    const unreachable = report.findings.find(
      (f) => f.code === 'NODE_UNREACHABLE' && f.nodes.includes(victim.id),
    );
    expect(unreachable?.summary).toContain('no answer');
    expect(report.nodes.find((n) => n.id === victim.id)?.reachable).toBe(false);
  });

  it('reads the rest of the cluster when one of several seeds is down', async () => {
    const cluster = await harness.start({ masters: 3, replicasPerMaster: 0 });
    const port = await freePort();

    const run = await cli(['check', `127.0.0.1:${port},${cluster.seeds.join(',')}`, '--json']);

    const report = Report.parse(JSON.parse(run.stdout));
    expect(report.nodes).toHaveLength(3);
    expect(report.findings.find((f) => f.code === 'NODE_UNREACHABLE')?.nodes).toEqual([`127.0.0.1:${port}`]);
  });

  it.each([
    [['check'], /check needs the seeds/],
    [['check', 'localhost'], /"localhost" is not host:port/],
    [['check', '127.0.0.1:0'], /port 1-65535/],
    [['check', 'a:1', 'b:2'], /join seeds with commas/],
    [['check', 'a:1', '--bogus'], /Unknown option '--bogus'/],
    [['check', 'a:1', '--timeout-ms', 'soon'], /--timeout-ms must be a whole number/],
    [['check', 'a:1', '--password', 'x', '--password-file', 'f'], /either --password or --password-file/],
    [['check', 'a:1', '--password-file', '/missing'], /cannot read password file \/missing: ENOENT/],
    [['check', 'a:1', '--tls-ca', 'ca.pem'], /need --tls/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /no command given/],
  ])('rejects %j with a specific message and exit 2', async (argv, message) => {
    const run = await cli(argv as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('runs as the installed bin with real exit codes and streams', async () => {
    const port = await freePort();
    const result = await promisify(execFile)(process.execPath, [
      'bin/slotwatch.js',
      'check',
      `127.0.0.1:${port}`,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no seed answered');
  });
});

describe('slotwatch check over TLS', () => {
  let tls: TestTls | undefined;
  afterAll(async () => {
    await tls?.remove();
  });

  it('reads a TLS-only cluster with the CA given, and refuses an untrusted certificate', async () => {
    tls = await makeTestTls();
    const cluster = await harness.start({ masters: 3, replicasPerMaster: 0, tls });
    const seeds = cluster.seeds.join(',');

    const trusted = await cli(
      ['check', seeds, '--tls', '--tls-ca', tls.caFile],
      {},
      { [tls.caFile]: tls.caPem },
    );
    const untrusted = await cli(['check', seeds, '--tls']);
    const insecure = await cli(['check', seeds, '--tls', '--tls-insecure']);
    const plain = await cli(['check', seeds, '--timeout-ms', '500']);

    expect(trusted.code).toBe(0);
    expect(trusted.stdout).toContain('16384/16384 slots covered');
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(/no seed answered .*(self[- ]signed|unable to verify|certificate)/i);
    expect(insecure.code).toBe(0);
    expect(plain.code).toBe(2);
  });
});
