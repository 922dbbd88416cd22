import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

/** dist/ is at least as new as every source file (an approximation: clock skew only costs a rebuild). */
const fresh = () =>
  Math.min(...OUTPUTS.map(mtime)) >=
  Math.max(newestSource('src'), mtime('tsconfig.json'), mtime('tsconfig.build.json'));

/**
 * Builds dist/ (what `bin/slotwatch.js`, `npm start` and the packed package run) unless it is newer than every
 * source file. Called once from the global setup, before any test file runs: tsc rewrites files in place, so a
 * build while another test file starts the bot from dist/ would hand it half-written modules.
 */
export function buildDist(): void {
  if (fresh()) return;
  process.stdout.write('[slotwatch tests] dist/ is older than src/: building it once before the tests\n');
  execFileSync('npm', ['run', '--silent', 'build'], { timeout: 180_000, stdio: 'inherit' });
}
