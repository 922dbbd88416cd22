import type { RepairProgress, StepProgress } from '../../jobs/repair-progress.js';
import { esc, LIMITS, truncate } from './limits.js';
import { plural } from './plural.js';

/** "850 ms", "4.2 s", "3 min 5 s", "1 h 2 min". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const ICON: Record<StepProgress['status'], string> = {
  pending: ':white_circle:',
  running: ':gear:',
  done: ':white_check_mark:',
  skipped: ':fast_forward:',
  failed: ':x:',
};

function stepLine(s: StepProgress, final: boolean, now: number): string {
  const what = `${s.index}. ${esc(truncate(s.where, 60))}: \`${esc(truncate(s.command, 120))}\``;
  const took = s.startedAt !== null && s.endedAt !== null ? duration(s.endedAt - s.startedAt) : null;
  const tail: Record<StepProgress['status'], string> = {
    pending: final ? 'not run' : 'pending',
    running: s.startedAt !== null ? `running for ${duration(now - s.startedAt)}` : 'running',
    done: took ? `done in ${took}` : 'done',
    skipped: `skipped: ${esc(truncate(s.reason ?? '', 200))}`,
    failed: `*failed*: ${esc(truncate(s.reason ?? '', 300))}`,
  };
  return `${ICON[s.status]} ${what} · ${tail[s.status]}`;
}

/** The step list with each step's status; long plans show a window around the step that matters. */
export function stepChecklist(progress: RepairProgress, final: boolean, now: number, max = 12): string {
  const steps = progress.steps;
  const focus = steps.findIndex((s) => s.status === 'running' || s.status === 'failed');
  const firstOpen = steps.findIndex((s) => s.status === 'pending');
  const at = focus >= 0 ? focus : firstOpen >= 0 ? firstOpen : steps.length - 1;
  const start = Math.max(0, Math.min(at - 2, steps.length - max));
  const shown = steps.slice(start, start + max);
  const lines = shown.map((s) => stepLine(s, final, now));
  if (start > 0) lines.unshift(`… ${plural(start, 'earlier step')}`);
  const after = steps.length - start - shown.length;
  if (after > 0) lines.push(`… and ${plural(after, 'more step')}`);
  return truncate(lines.join('\n'), LIMITS.sectionText - 100);
}

/** "Step 3 of 7" while running; counts once ended. */
export function stepSummary(progress: RepairProgress): string {
  const n = progress.steps.length;
  const count = (status: StepProgress['status']) => progress.steps.filter((s) => s.status === status).length;
  if (progress.current !== null) return `Step ${progress.current} of ${n}`;
  const parts = [
    `${count('done')} of ${plural(n, 'step')} done`,
    ...(count('skipped') > 0 ? [`${count('skipped')} skipped`] : []),
    ...(count('failed') > 0 ? [`${count('failed')} failed`] : []),
  ];
  return parts.join(', ');
}
