import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/core/diagnose.js';
import { closeProbe, probeCluster } from '../../src/core/probe.js';
import type { Report } from '../../src/core/report.js';
import { cli } from '../support/cli.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { type RespServer, type RespServerOptions, startRespServer } from '../support/resp-server.js';

const harness = clusterPerTest();
const servers: RespServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function hostile(options: RespServerOptions): Promise<RespServer> {
  const server = await startRespServer(options);
  servers.push(server);
  return server;
}

async function report(seeds: string[], options: Parameters<typeof diagnose>[1] = {}): Promise<Report> {
  const result = await diagnose(seeds, { nodeTimeoutMs: 2000, deadlineMs: 6000, ...options });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const GARBAGE = 'hello from a proxy\n0-99999 -5 abc\n';

describe('hostile replies', () => {
  it('reports REPLY_UNPARSEABLE naming the node and its first bad line when CLUSTER NODES is garbage', async () => {
    const node = await hostile({ clusterNodes: { kind: 'text', text: GARBAGE } });

    const result = await report([node.address]);

    expect(result.state).toBe('fail');
    expect(result.slots.covered).toBe(0);
    const [unparseable] = result.findings.filter((f) => f.code === 'REPLY_UNPARSEABLE');
    expect(unparseable).toMatchObject({ severity: 'error', nodes: [node.address] });
    expect(unparseable?.summary).toContain(node.address);
    expect(unparseable?.summary).toContain('"hello from a proxy"');
    expect(unparseable?.details[0]).toMatch(/^expected: one node per line/);
  });

  it.each([
    [
      'CLUSTER NODES as an integer',
      { clusterNodes: { kind: 'integer', value: 7 } },
      /CLUSTER NODES.*got an integer/,
    ],
    [
      'slot tokens out of range',
      {
        clusterNodes: {
          kind: 'text',
          text: `${'a'.repeat(40)} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-99999 -5 abc\n`,
        },
      },
      /CLUSTER NODES.*line 1: slot range "0-99999" is out of range/,
    ],
    [
      'CLUSTER NODES with an error (renamed command)',
      { clusterNodes: { kind: 'error', message: "ERR unknown command 'CLUSTER'" } },
      /CLUSTER NODES.*got an error reply\): "ERR unknown command 'CLUSTER'"/,
    ],
    ['CLUSTER INFO without cluster_state', { clusterInfo: 'cluster_slots_ok:16384\r\n' }, /CLUSTER INFO/],
    ['INFO that is not key:value', { info: 'this is not INFO\r\n' }, /INFO.*"this is not INFO"/],
  ] as const)('fails the report when a node answers %s', async (_, options, summary) => {
    const node = await hostile(options);

    const result = await report([node.address]);

    expect(result.state).toBe('fail');
    expect(result.findings.find((f) => f.code === 'REPLY_UNPARSEABLE')?.summary).toMatch(summary);
  });

  it('still reports the real cluster, and fails, when a garbage node is one of the seeds', async () => {
    const cluster = await harness.start({ masters: 3, replicasPerMaster: 0 });
    const node = await hostile({ clusterNodes: { kind: 'text', text: GARBAGE } });

    const result = await report([...cluster.seeds, node.address]);

    expect(result.state).toBe('fail');
    expect(result.slots.covered).toBe(16384);
    expect(result.nodes.map((n) => n.address).sort()).toEqual(cluster.masters.map((m) => m.address).sort());
    expect(result.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.nodes])).toEqual([
      ['REPLY_UNPARSEABLE', [node.address]],
    ]);
  });

  it('exits 1 from the CLI process and prints the finding for a garbage node', async () => {
    const node = await hostile({ clusterNodes: { kind: 'text', text: GARBAGE } });

    const run = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      'src/cli/bin.ts',
      'check',
      node.address,
    ]).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => error,
    );

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAIL/);
    expect(run.stdout).toContain('REPLY_UNPARSEABLE');
    expect(run.stdout).toContain('hello from a proxy');
  });

  it('reports LIMIT_EXCEEDED for a 100,000-line CLUSTER NODES without parsing or dialing what it lists', async () => {
    const node = await hostile({ clusterNodes: { kind: 'lines', count: 100_000 } });

    const result = await report([node.address]);
    const probe = await probeCluster([node.address]);
    closeProbe(probe);

    expect(result.state).toBe('fail');
    expect(result.findings.map((f) => [f.code, f.nodes])).toEqual([['LIMIT_EXCEEDED', [node.address]]]);
    expect(result.findings[0]?.summary).toContain('more than 1000 lines');
    expect(probe.views).toHaveLength(1);
    expect(node.stats.connections).toBe(2);
  });

  it('dials no more than maxNodes addresses and says how many it skipped', async () => {
    const node = await hostile({ clusterNodes: { kind: 'lines', count: 5 } });

    const probe = await probeCluster([node.address, '127.0.0.1:9'], { maxNodes: 5 });
    closeProbe(probe);
    const result = await report([node.address, '127.0.0.1:9'], { maxNodes: 5 });

    expect(probe.views).toHaveLength(5);
    expect(probe.discovery).toEqual({ maxNodes: 5, skipped: 1 });
    expect(result.findings.find((f) => f.code === 'LIMIT_EXCEEDED')?.summary).toMatch(
      /node limit \(5\); not probed: 1 address\./,
    );
  });

  it('drops a node streaming a 1 GiB reply near the byte limit and reports LIMIT_EXCEEDED', async () => {
    const node = await hostile({ clusterNodes: { kind: 'stream', bytes: 2 ** 30 } });

    const result = await report([node.address]);

    expect(result.state).toBe('fail');
    expect(result.findings.map((f) => [f.code, f.nodes])).toEqual([['LIMIT_EXCEEDED', [node.address]]]);
    expect(result.findings[0]?.summary).toContain('more than 16777216 bytes');
    expect(node.stats.bytesSent).toBeLessThan(64 * 2 ** 20);
  });

  it('applies --max-nodes and --max-reply-bytes from the command line', async () => {
    const node = await hostile({ clusterNodes: { kind: 'lines', count: 1000 } });

    const nodes = await cli(['check', node.address, '--max-nodes', '10', '--json']);
    const bytes = await cli(['check', node.address, '--max-reply-bytes', '65536', '--json']);

    expect(nodes.code).toBe(1);
    expect(JSON.parse(nodes.stdout).findings[0].summary).toContain('more than 10 lines');
    expect(bytes.code).toBe(1);
    expect(JSON.parse(bytes.stdout).findings[0].summary).toContain('more than 65536 bytes');
  });

  it.each([
    [
      ['--max-reply-bytes', 'lots'],
      /--max-reply-bytes must be a whole number from 65536 to 1073741824, got "lots"/,
    ],
    [['--max-reply-bytes', '1024'], /--max-reply-bytes must be a whole number from 65536/],
    [['--max-nodes', '0'], /--max-nodes must be a whole number from 1 to 1000, got "0"/],
    [['--max-nodes', '100000'], /--max-nodes must be a whole number from 1 to 1000, got "100000"/],
    [['--max-nodes', '2.5'], /--max-nodes must be a whole number/],
  ])('rejects check %j with exit 2 and a specific message', async (flags, message) => {
    const runs = await Promise.all(
      ['check', 'plan'].map((command) => cli([command, '127.0.0.1:9', ...flags])),
    );

    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stderr.split('\n')[0]).toMatch(message);
    }
  });
});
