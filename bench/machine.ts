import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

/** One line saying what the figures were measured on, and how busy it was when the bench started. */
export function machineLine(): string {
  const cpu = cpus();
  const redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1];
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}; redis ${redis ?? '?'}; load average at start ${load}`;
}

export const loadNow = (): string => loadavg()[0]?.toFixed(2) ?? '?';
