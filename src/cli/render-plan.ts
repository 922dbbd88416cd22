import type { ExecutionEvent, ExecutionResult } from '../core/repair/execute.js';
import type { RepairOption } from '../core/repair/types.js';
import { SLOT_COUNT } from '../core/slot-ranges.js';
import type { Style } from './style.js';

export function renderOptions(options: readonly RepairOption[], seeds: string, s: Style): string {
  if (options.length === 0) return 'Nothing to repair: no finding has an automated repair.\n';
  const blocks = options.map((o) => {
    const risk = o.risk === 'data-loss' ? s.red('DATA LOSS') : s.green('safe');
    return [
      `${s.bold(o.id)}  ${o.title}  [${risk}]`,
      `  ${o.explanation}`,
      ...(o.loss ? [s.red(`  Loses: ${o.loss.description}`)] : []),
      ...o.steps.map(
        (step) =>
          `  ${String(step.index).padStart(2)}. ${step.where}: ${step.command}\n      ${s.dim(step.why)}`,
      ),
      `  Expected: ${o.expected}`,
      s.dim(
        `  slotwatch fix ${seeds} --option ${o.id} --yes${o.risk === 'data-loss' ? ' --accept-data-loss' : ''}`,
      ),
    ].join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

export function renderEvent(event: ExecutionEvent, s: Style): string {
  const head = `step ${event.step.index}/${'?'}`.replace('/?', '');
  switch (event.type) {
    case 'step-started':
      return `${head} ${event.step.where}: ${event.step.command}\n`;
    case 'step-skipped':
      return s.dim(`${head} skipped (${event.reason}): ${event.step.command}\n`);
    case 'step-note':
      return s.dim(`        ${event.message}\n`);
    case 'step-finished':
      return s.green(`${head} done in ${event.ms} ms\n`);
    case 'step-failed':
      return s.red(`${head} FAILED: ${event.error}\n`);
  }
}

export function renderResult(result: ExecutionResult, s: Style): string {
  const coverage = (r: ExecutionResult['before']) =>
    r ? `${r.slots.covered}/${SLOT_COUNT} slots, state ${r.state}` : 'unknown';
  const keys = (sizes: Readonly<Record<string, number | null>>) =>
    Object.values(sizes).reduce<number>((total, n) => total + (n ?? 0), 0);
  const lines = [
    result.status === 'done'
      ? s.green('Repair finished.')
      : s.red(`Repair ${result.status}: ${result.error ?? ''}`),
    `before: ${coverage(result.before)}, ${keys(result.dbsizeBefore)} keys on masters`,
    `after:  ${coverage(result.after)}, ${keys(result.dbsizeAfter)} keys on masters`,
  ];
  const remaining = result.after?.findings.filter((f) => f.severity === 'error') ?? [];
  if (remaining.length > 0)
    lines.push(`still wrong: ${remaining.map((f) => f.code).join(', ')} (run slotwatch check)`);
  return `${lines.join('\n')}\n`;
}
