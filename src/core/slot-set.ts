import { SLOT_COUNT } from './slot-ranges.js';

/** A set of hash slots as a 16 KiB bitmap: cheap to fill, test and intersect. */
export class SlotSet {
  private readonly bits = new Uint8Array(SLOT_COUNT);

  static all(): SlotSet {
    const set = new SlotSet();
    set.bits.fill(1);
    return set;
  }

  static of(slots: Iterable<number>): SlotSet {
    const set = new SlotSet();
    for (const slot of slots) set.add(slot);
    return set;
  }

  add(slot: number): void {
    this.bits[slot] = 1;
  }

  has(slot: number): boolean {
    return this.bits[slot] === 1;
  }

  /** Slots in this set and in every other one, ascending. */
  intersect(others: Iterable<SlotSet>): number[] {
    const common = SlotSet.of([]);
    common.bits.set(this.bits);
    for (const other of others) {
      if (other === this) continue;
      for (let slot = 0; slot < SLOT_COUNT; slot++) common.bits[slot] &= other.bits[slot] ?? 0;
    }
    return common.members();
  }

  /** Slots in this set, ascending. */
  members(): number[] {
    const slots: number[] = [];
    for (let slot = 0; slot < SLOT_COUNT; slot++) if (this.bits[slot] === 1) slots.push(slot);
    return slots;
  }

  /** Slots not in this set, ascending. */
  missing(): number[] {
    const slots: number[] = [];
    for (let slot = 0; slot < SLOT_COUNT; slot++) if (this.bits[slot] !== 1) slots.push(slot);
    return slots;
  }
}
