import { explainError } from '../../core/explain.js';
import { KNOWLEDGE_BASE } from '../../core/knowledge-base.js';
import { type CliIo, UsageError } from '../io.js';
import { renderExplain } from '../render-explain.js';
import { makeStyle } from '../style.js';
import { parse } from './shared.js';

export function explainCommand(args: string[], io: CliIo): number {
  const { positionals } = parse(args, {});
  const text = positionals.join(' ').trim();
  if (text === '') {
    throw new UsageError(
      'explain needs the error text, e.g. slotwatch explain "CLUSTERDOWN The cluster is down"',
      {
        showUsage: true,
      },
    );
  }
  const entry = explainError(text);
  if (!entry) {
    io.stderr(
      `slotwatch: no runbook entry matches "${text}". Known errors:\n${KNOWLEDGE_BASE.map((e) => `  ${e.title}`).join('\n')}\n`,
    );
    return 1;
  }
  io.stdout(renderExplain(entry, makeStyle(io.color)));
  return 0;
}
