import { findingEntry, KNOWLEDGE_BASE, type KnowledgeEntry } from './knowledge-base.js';

/** Lower case, one space, no `(error)` / `ERR` noise, no quotes around the message. */
export function normaliseError(text: string): string {
  return text
    .toLowerCase()
    .replace(/\(error\)/g, ' ')
    .replace(/[`"“”]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The knowledge-base entry for a finding code or a Redis error message (matched forgivingly); null when none fits. */
export function explainError(
  text: string,
  base: readonly KnowledgeEntry[] = KNOWLEDGE_BASE,
): KnowledgeEntry | null {
  const byCode = findingEntry(text);
  if (byCode) return byCode;
  const normalised = normaliseError(text);
  if (normalised === '') return null;
  return base.find((entry) => entry.patterns.some((pattern) => pattern.test(normalised))) ?? null;
}
