import { rangesFromSlots, type SlotRange } from '../slot-ranges.js';

export interface Receiver {
  readonly id: string;
  /** Slots it owns now. */
  readonly owned: number;
}

/**
 * Hands `slots` out as contiguous chunks so that owned + received is as even as possible, the chunks going to
 * the receivers that own the fewest slots first. Returns only receivers that get something.
 */
export function balanceSlots(
  slots: readonly number[],
  receivers: readonly Receiver[],
): Map<string, SlotRange[]> {
  const sorted = [...slots].sort((a, b) => a - b);
  const order = [...receivers].sort((a, b) => a.owned - b.owned || a.id.localeCompare(b.id));
  const shares = new Array<number>(order.length).fill(0);
  for (let left = sorted.length; left > 0; left--) {
    let best = 0;
    for (let i = 1; i < order.length; i++) {
      const load = (order[i]?.owned ?? 0) + (shares[i] ?? 0);
      if (load < (order[best]?.owned ?? 0) + (shares[best] ?? 0)) best = i;
    }
    shares[best] = (shares[best] ?? 0) + 1;
  }
  const result = new Map<string, SlotRange[]>();
  let next = 0;
  order.forEach((receiver, i) => {
    const share = shares[i] ?? 0;
    if (share === 0) return;
    result.set(receiver.id, rangesFromSlots(sorted.slice(next, next + share)));
    next += share;
  });
  return result;
}
