import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../support/backend.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend } from '../support/redis-backend.js';

/** The lines of the README's ```sh blocks, each without its trailing comment. */
function readmeCommands(): string[] {
  const blocks = readFileSync('README.md', 'utf8').match(/```sh\n[\s\S]*?```/g) ?? [];
  return blocks.flatMap((block) =>
    block
      .split('\n')
      .slice(1, -1)
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean),
  );
}

function readmeCommand(start: string): string {
  const found = readmeCommands().find((line) => line.startsWith(start));
  if (!found) throw new Error(`the README no longer shows a command starting with "${start}"`);
  return found;
}

/** Runs a shell line from the repository root as a newcomer would type it. */
function shell(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', line], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    );
  });
}

let backend: RedisBackend;
let cluster: TestCluster;

beforeAll(async () => {
  backend = await testBackend();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
});

afterAll(async () => {
  await cluster?.stop();
  await backend?.stopAll();
});

describe("the README's commands", () => {
  it('`npm run slotwatch -- check <seed>` prints a report of a real cluster and exits 0', async () => {
    const line = readmeCommand('npm run slotwatch -- check ').replace(/\S+$/, cluster.seeds[0] ?? '');

    const run = await shell(line);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^WARN {2}16384\/16384 slots covered \(100\.0%\), 0 uncovered · 0 errors, 3 warnings$/m,
    );
    expect(run.stdout).toContain('MASTER_NO_REPLICA');
  });

  it('`npm run slotwatch -- check <seed>` passes exit 2 and the reason through npm when no seed answers', async () => {
    const port = await freePort();
    const line = readmeCommand('npm run slotwatch -- check ').replace(/\S+$/, `127.0.0.1:${port}`);

    const run = await shell(line);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`slotwatch: no seed answered (127.0.0.1:${port}: connection refused)`);
  });

  it('`npm run slotwatch -- explain "…"` prints the runbook entry', async () => {
    const run = await shell(readmeCommand('npm run slotwatch -- explain '));

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/CLUSTERDOWN/);
  });

  it('`./bin/slotwatch.js --help` prints the usage from the built package bin', async () => {
    // `npm ci` builds dist/ through the `prepare` script; the global setup made sure it is current. (In the
    // repository itself `npx slotwatch` would first install the project into npx's cache, rebuilding it.)
    const run = await shell(readmeCommand('./bin/slotwatch.js --help'));

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage:\n {2}slotwatch check <host:port>/);
    expect(run.stderr).toBe('');
  });

  it('`npm pack` ships the bin and the built dist/, not the sources or the tests', async () => {
    const run = await shell('npm pack --dry-run --json --ignore-scripts');

    expect(run.code).toBe(0);
    const [pack] = JSON.parse(run.stdout) as [{ files: { path: string }[] }];
    const files = pack.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['bin/slotwatch.js', 'dist/cli/bin.js', 'dist/main.js', 'package.json']),
    );
    expect(files.filter((f) => /^(src|test)\//.test(f))).toEqual([]);
  });
});
