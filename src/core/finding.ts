import { RUNBOOK_LINES } from './finding-catalogue.js';
import type { KeyCounts } from './key-counts.js';
import type { Finding, FindingCode, Gap, OpenSlot, Severity } from './report.js';
import type { SlotRouting } from './routing.js';
import type { SlotRange } from './slot-ranges.js';
import type { Topology } from './topology.js';

export interface AnalysisContext {
  readonly topology: Topology;
  readonly counts: KeyCounts;
  readonly gaps: readonly Gap[];
  readonly openSlots: readonly OpenSlot[];
  readonly routing: SlotRouting;
  /** Slots that changed between two looks: moving right now, never called stuck. */
  readonly moving: ReadonlySet<number>;
  /** How a person names this cluster on the command line (`127.0.0.1:7000,…`). */
  readonly seeds: string;
}

export interface FindingParts {
  readonly nodes?: readonly string[];
  readonly slots?: readonly SlotRange[];
  readonly next: string;
  readonly details?: readonly string[];
}

export const finding = (
  code: FindingCode,
  severity: Severity,
  summary: string,
  parts: FindingParts,
): Finding => ({
  code,
  severity,
  summary,
  nodes: [...(parts.nodes ?? [])],
  slots: (parts.slots ?? []).map(([start, end]) => [start, end] as [number, number]),
  next: parts.next,
  runbook: RUNBOOK_LINES[code],
  details: [...(parts.details ?? [])],
});

export const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;

export const keysText = (keys: number | null): string =>
  keys === null ? 'unknown keys' : plural(keys, 'key');
