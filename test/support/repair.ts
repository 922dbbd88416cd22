import { expect } from 'vitest';
import { diagnose } from '../../src/core/diagnose.js';
import { type ExecuteOptions, type ExecutionResult, executeRepair } from '../../src/core/repair/execute.js';
import { planRepairs } from '../../src/core/repair/planner.js';
import type { RepairKind, RepairOption } from '../../src/core/repair/types.js';
import type { Report } from '../../src/core/report.js';
import { waitUntilState } from './break.js';
import type { TestNode } from './cluster.js';

export const PROBE = { nodeTimeoutMs: 1000, deadlineMs: 6000 } as const;

export async function report(seeds: readonly string[]): Promise<Report> {
  const result = await diagnose(seeds, PROBE);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

export async function planFor(seeds: readonly string[], kind: RepairKind): Promise<RepairOption> {
  const options = planRepairs(await report(seeds));
  const option = options.find((o) => o.kind === kind);
  if (!option) throw new Error(`no ${kind} option; got ${options.map((o) => o.id).join(', ') || 'none'}`);
  return option;
}

export async function repair(
  option: RepairOption,
  seeds: readonly string[],
  options: ExecuteOptions = {},
): Promise<ExecutionResult> {
  return executeRepair(option, seeds, { ...PROBE, ...options });
}

/** The state every repair must leave: ok everywhere, agreeing, no open slot, no orphaned key, no error. */
export async function expectHealthy(alive: readonly TestNode[]): Promise<Report> {
  await waitUntilState(alive, 'ok');
  const after = await report(alive.map((n) => n.address));
  expect(after.findings.filter((f) => f.severity === 'error')).toEqual([]);
  expect(after.findings.map((f) => f.code)).not.toContain('VIEWS_DISAGREE');
  expect(after.openSlots).toEqual([]);
  expect(after.slots.uncovered).toBe(0);
  return after;
}

/** Slot ranges each add-slots step hands out. */
export const addedRanges = (option: RepairOption) =>
  option.steps.flatMap((s) => (s.action.type === 'add-slots' ? [s.action.ranges] : []));
