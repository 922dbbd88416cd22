import { fingerprintOf } from './fingerprint.js';
import { describe, type PlanContext } from './plan-context.js';
import type { DataLoss, RepairAction, RepairKind, RepairOption, Risk } from './types.js';

export interface OptionParts {
  readonly id: string;
  readonly kind: RepairKind;
  readonly title: string;
  readonly explanation: string;
  readonly risk: Risk;
  readonly loss?: DataLoss | null;
  readonly actions: readonly { readonly action: RepairAction; readonly why: string }[];
  readonly expected: string;
}

function touched(action: RepairAction): string[] {
  switch (action.type) {
    case 'add-slots':
    case 'bump-epoch':
      return [action.node];
    case 'failover':
      return [action.node, action.master];
    case 'forget':
      return [action.target];
    case 'settle-slots':
      return [...new Set(action.slots.map((s) => s.owner))];
    case 'adopt-keys':
      return [action.holder, action.owner];
    case 'meet':
      return [action.node, action.peer];
    case 'replicate':
      return [action.node, action.master];
  }
}

export function buildOption(ctx: PlanContext, parts: OptionParts): RepairOption {
  return {
    id: parts.id,
    kind: parts.kind,
    title: parts.title,
    explanation: parts.explanation,
    risk: parts.risk,
    loss: parts.loss ?? null,
    steps: parts.actions.map(({ action, why }, i) => ({ index: i + 1, ...describe(ctx, action), why })),
    nodes: [...new Set(parts.actions.flatMap(({ action }) => touched(action)))],
    expected: parts.expected,
    fingerprint: fingerprintOf(ctx.report),
  };
}

/** A short, stable id fragment for a node. */
export const short = (id: string): string => id.slice(0, 8);
