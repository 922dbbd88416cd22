import type { Report } from '../report.js';
import { countSlots, formatRanges } from '../slot-ranges.js';
import { buildOption } from './option.js';
import { PlanContext } from './plan-context.js';
import { planCoverUnassigned, planFailovers, planTakeOvers } from './plan-coverage.js';
import { planAdoptOrphans, planCloseOpenSlots, planStuckSlots } from './plan-keys.js';
import { planAttachReplicas, planForgetFailed, planRejoins } from './plan-nodes.js';
import type { RepairOption } from './types.js';

/** What the plan leaves out on purpose, for people: moving slots, and slots only a person can settle. */
export function planNotes(report: Report): string[] {
  const notes: string[] = [];
  if (report.movingSlots.length > 0) {
    const slots = countSlots(report.movingSlots);
    notes.push(
      `${slots} slot${slots === 1 ? ' is' : 's are'} moving in a live resharding (${formatRanges(report.movingSlots, 6)}): nothing is offered for ${slots === 1 ? 'it' : 'them'} while keys move. Wait until no slot is open (CLUSTER NODES shows no [slot->-…] or [slot-<-…]), then plan again.`,
    );
  }
  for (const { slot, why } of planStuckSlots(new PlanContext(report)).cannot)
    notes.push(`slot ${slot} needs a person: ${why}.`);
  return notes;
}

/**
 * Every repair that fits the probed state, in the order a combined plan must run them: ownership first
 * (MIGRATE needs covered slots), then keys, then membership. Pure.
 */
export function planRepairs(report: Report): RepairOption[] {
  if (report.findings.some((f) => f.code === 'NOT_CLUSTER')) return [];
  const ctx = new PlanContext(report);
  const options = [
    ...planFailovers(ctx),
    ...planCoverUnassigned(ctx),
    ...planTakeOvers(ctx),
    ...planRejoins(ctx),
    ...planCloseOpenSlots(ctx),
    ...planAdoptOrphans(ctx),
    ...planForgetFailed(ctx),
    ...planAttachReplicas(ctx),
  ];
  if (options.length < 2) return options;
  const risky = options.filter((o) => o.risk === 'data-loss');
  const everything = buildOption(ctx, {
    id: 'fix-everything',
    kind: 'fix-everything',
    title: `Fix everything (${options.length} repairs)`,
    explanation: `All of the repairs above, in the only order that works: slot ownership first (MIGRATE answers CLUSTERDOWN on uncovered slots), then keys, then membership. ${risky.length > 0 ? `Includes ${risky.length} that lose data: ${risky.map((o) => o.title).join('; ')}.` : 'None of them loses data.'}`,
    risk: risky.length > 0 ? 'data-loss' : 'safe',
    loss:
      risky.length === 0
        ? null
        : {
            slots: risky.flatMap((o) => o.loss?.slots ?? []),
            keys: risky.some((o) => o.loss?.keys === null)
              ? null
              : risky.reduce((total, o) => total + (o.loss?.keys ?? 0), 0),
            description: risky.map((o) => o.loss?.description ?? o.title).join('; '),
          },
    actions: options.flatMap((o) => o.steps.map((s) => ({ action: s.action, why: s.why }))),
    expected: 'no error finding; cluster_state:ok on every node',
  });
  return [...options, everything];
}
