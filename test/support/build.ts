import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait.js';

const LOCK = join('node_modules', '.cache', 'slotwatch-build.lock');
const OUTPUTS = ['dist/main.js', 'dist/cli/bin.js'];

const mtime = (path: string): number => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : mtime(path));
  }
  return newest;
}

const fresh = () =>
  Math.min(...OUTPUTS.map(mtime)) >=
  Math.max(newestSource('src'), mtime('tsconfig.json'), mtime('tsconfig.build.json'));

/** Takes the lock when free (mkdir is atomic); a lock left by a dead worker expires after two minutes. */
function tryLock(): boolean {
  try {
    mkdirSync(LOCK, { recursive: false });
    return true;
  } catch {
    if (Date.now() - mtime(LOCK) > 120_000) rmSync(LOCK, { recursive: true, force: true });
    return false;
  }
}

/**
 * Builds dist/ (what `bin/slotwatch.js`, `npm start` and the packed package run) unless it is newer than every
 * source file. Test files in parallel workers build one at a time.
 */
export async function buildDist(): Promise<void> {
  mkdirSync(join('node_modules', '.cache'), { recursive: true });
  await waitFor('the build lock', tryLock, { timeoutMs: 150_000, intervalMs: 200 });
  try {
    if (!fresh()) await promisify(execFile)('npm', ['run', '--silent', 'build'], { timeout: 120_000 });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
