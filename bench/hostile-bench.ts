import { execFile } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseClusterNodesInBatches } from '../src/core/cluster-nodes.js';
import { diagnose } from '../src/core/diagnose.js';
import { startRespServer } from '../test/support/resp-server.js';

const run = promisify(execFile);
const MB = 1024 * 1024;

interface Measured {
  readonly ms: number;
  readonly peakRssMb: number;
  /** Peak RSS minus RSS when the task started. */
  readonly growthMb: number;
  readonly loopMaxMs: number;
  readonly loopP99Ms: number;
}

/** Runs `task` while sampling RSS and the event-loop delay. */
async function measure(task: () => Promise<unknown>): Promise<Measured> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const start = process.memoryUsage.rss();
  let peak = start;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  loop.enable();
  const began = performance.now();
  try {
    await task();
  } finally {
    loop.disable();
    clearInterval(sampler);
  }
  return {
    ms: performance.now() - began,
    peakRssMb: Math.max(peak, process.memoryUsage.rss()) / MB,
    growthMb: (Math.max(peak, process.memoryUsage.rss()) - start) / MB,
    loopMaxMs: loop.max / 1e6,
    loopP99Ms: loop.percentile(99) / 1e6,
  };
}

/** The CLI as a process under /usr/bin/time: wall time and max RSS. */
async function cliRun(address: string): Promise<{ ms: number; maxRssMb: number; code: number }> {
  const began = performance.now();
  const outcome = await run('/usr/bin/time', [
    '-v',
    process.execPath,
    '--import',
    'tsx',
    'src/cli/bin.ts',
    'check',
    address,
  ]).then(
    ({ stderr }) => ({ stderr, code: 0 }),
    (error: { stderr: string; code: number }) => error,
  );
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(outcome.stderr)?.[1] ?? Number.NaN);
  return { ms: performance.now() - began, maxRssMb: kb / 1024, code: outcome.code };
}

const line = (label: string, text: string) => console.log(`${label.padEnd(46)} ${text}`);

/** Hostile nodes: a 100,000-line CLUSTER NODES and a 1 GiB bulk reply, in process and through the CLI. */
export async function benchHostile(): Promise<void> {
  const lines = await startRespServer({ clusterNodes: { kind: 'lines', count: 100_000 } });
  const stream = await startRespServer({ clusterNodes: { kind: 'stream', bytes: 2 ** 30 } });
  const valid = await startRespServer();
  try {
    const options = { nodeTimeoutMs: 2000, deadlineMs: 6000 };
    const inProcess = await measure(() => diagnose([lines.address], options));
    line(
      'hostile: 100,000-line CLUSTER NODES, in process',
      `${inProcess.ms.toFixed(0)} ms | peak RSS ${inProcess.peakRssMb.toFixed(0)} MB (+${inProcess.growthMb.toFixed(0)}) | event loop delay max ${inProcess.loopMaxMs.toFixed(1)} ms, p99 ${inProcess.loopP99Ms.toFixed(1)} ms`,
    );
    const text = [
      `${'0'.repeat(40)} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383`,
      ...Array.from(
        { length: 99_999 },
        (_, i) =>
          `${(i + 1).toString(16).padStart(40, '0')} 127.1.${i >> 8}.${i & 255}:7@10007 master - 0 0 1 connected`,
      ),
    ].join('\n');
    const parse = await measure(() => parseClusterNodesInBatches(text));
    line(
      'hostile: parse 100,000 lines in batches',
      `${parse.ms.toFixed(0)} ms | event loop delay max ${parse.loopMaxMs.toFixed(1)} ms, p99 ${parse.loopP99Ms.toFixed(1)} ms`,
    );
    const bulk = await measure(() => diagnose([stream.address], options));
    line(
      'hostile: 1 GiB bulk reply, in process',
      `${bulk.ms.toFixed(0)} ms | peak RSS ${bulk.peakRssMb.toFixed(0)} MB (+${bulk.growthMb.toFixed(0)}) | node sent ${(stream.stats.bytesSent / MB).toFixed(1)} MiB before the hang-up`,
    );
    for (const [label, address] of [
      ['baseline: valid single node, CLI (tsx)', valid.address],
      ['hostile: 100,000-line CLUSTER NODES, CLI (tsx)', lines.address],
      ['hostile: 1 GiB bulk reply, CLI (tsx)', stream.address],
    ] as const) {
      const cli = await cliRun(address);
      line(label, `${cli.ms.toFixed(0)} ms | max RSS ${cli.maxRssMb.toFixed(0)} MB | exit ${cli.code}`);
    }
  } finally {
    await Promise.all([lines.close(), stream.close(), valid.close()]);
  }
}
