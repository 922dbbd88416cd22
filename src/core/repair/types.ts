import type { SlotRange } from '../slot-ranges.js';

/** One thing the executor does to the cluster; node fields are node ids. */
export type RepairAction =
  | { readonly type: 'add-slots'; readonly node: string; readonly ranges: readonly SlotRange[] }
  | {
      readonly type: 'failover';
      readonly node: string;
      readonly master: string;
      readonly mode: 'FORCE' | 'TAKEOVER';
      readonly ranges: readonly SlotRange[];
    }
  | { readonly type: 'forget'; readonly target: string }
  | { readonly type: 'bump-epoch'; readonly node: string }
  | { readonly type: 'adopt-keys'; readonly slot: number; readonly holder: string; readonly owner: string }
  | { readonly type: 'settle-slots'; readonly slots: readonly SlotSettlement[] }
  | { readonly type: 'meet'; readonly node: string; readonly peer: string }
  | { readonly type: 'replicate'; readonly node: string; readonly master: string };

/** One slot brought to one owner: its keys moved there, then every master told so. */
export interface SlotSettlement {
  readonly slot: number;
  readonly owner: string;
  /** Why this owner, for people. */
  readonly why: string;
}

/** What a settle step made of one slot: settled by this run, already stable, or failed and why. */
export interface SlotResult {
  readonly slot: number;
  readonly owner: string;
  readonly result: 'settled' | 'stable' | 'failed';
  /** Why it failed, in full; null otherwise. */
  readonly reason: string | null;
  /** Keys this run moved to the owner. */
  readonly moved: number;
}

export interface RepairStep {
  /** 1-based position in its option. */
  readonly index: number;
  readonly action: RepairAction;
  /** Where it runs, for people: `127.0.0.1:7000 (3f2a9c1b)` or `every node`. */
  readonly where: string;
  /** The command as a person would type it; never a secret. */
  readonly command: string;
  readonly why: string;
}

export type Risk = 'safe' | 'data-loss';

export interface DataLoss {
  readonly slots: readonly SlotRange[];
  /** Keys last seen in those slots; null when nobody could count them. */
  readonly keys: number | null;
  readonly description: string;
}

export type RepairKind =
  | 'cover-unassigned'
  | 'failover'
  | 'take-over-slots'
  | 'close-open-slots'
  | 'adopt-orphans'
  | 'rejoin-node'
  | 'forget-failed'
  | 'attach-replica'
  | 'fix-everything';

/** A repair a person can approve: what, why, how risky, and exactly which commands. */
export interface RepairOption {
  readonly id: string;
  readonly kind: RepairKind;
  readonly title: string;
  readonly explanation: string;
  readonly risk: Risk;
  readonly loss: DataLoss | null;
  readonly steps: readonly RepairStep[];
  /** Node ids the steps touch. */
  readonly nodes: readonly string[];
  readonly expected: string;
  /** Fingerprint of the state the plan was made from. */
  readonly fingerprint: string;
}
