import type { KnowledgeEntry } from '../core/knowledge-base.js';
import type { Style } from './style.js';

export function renderExplain(entry: KnowledgeEntry, s: Style): string {
  const list = (items: readonly string[]) => items.map((item) => `  - ${item}`);
  return [
    s.bold(entry.title),
    '',
    s.bold('Cause'),
    `  ${entry.cause}`,
    '',
    s.bold('Check'),
    ...list(entry.check),
    '',
    s.bold('Fix'),
    ...list(entry.fix),
    ...(entry.slotwatch ? ['', s.dim(entry.slotwatch)] : []),
    '',
  ].join('\n');
}
