import { SLOT_COUNT } from './slot-ranges.js';

const WORDS = SLOT_COUNT / 32;

/** A set of hash slots as a 2 KiB bitmap: cheap to fill, test and intersect 32 slots at a time. */
export class SlotSet {
  private readonly words = new Uint32Array(WORDS);

  static all(): SlotSet {
    const set = new SlotSet();
    set.words.fill(0xffffffff);
    return set;
  }

  static of(slots: Iterable<number>): SlotSet {
    const set = new SlotSet();
    for (const slot of slots) set.add(slot);
    return set;
  }

  add(slot: number): void {
    if (slot >= 0 && slot < SLOT_COUNT)
      this.words[slot >>> 5] = (this.words[slot >>> 5] ?? 0) | (1 << (slot & 31));
  }

  has(slot: number): boolean {
    return slot >= 0 && slot < SLOT_COUNT && (((this.words[slot >>> 5] ?? 0) >>> (slot & 31)) & 1) === 1;
  }

  /** Slots in this set and in every other one, ascending. */
  intersect(others: Iterable<SlotSet>): number[] {
    const common = new SlotSet();
    common.words.set(this.words);
    for (const other of others) {
      if (other === this) continue;
      for (let w = 0; w < WORDS; w++) common.words[w] = (common.words[w] ?? 0) & (other.words[w] ?? 0);
    }
    return common.members();
  }

  /** Slots in this set, ascending. */
  members(): number[] {
    return this.collect(0);
  }

  /** Slots not in this set, ascending. */
  missing(): number[] {
    return this.collect(0xffffffff);
  }

  /** Slots whose bit differs from `flip`'s: members for 0, missing slots for all ones. */
  private collect(flip: number): number[] {
    const slots: number[] = [];
    for (let w = 0; w < WORDS; w++) {
      const word = ((this.words[w] ?? 0) ^ flip) >>> 0;
      if (word === 0) continue;
      for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) slots.push(w * 32 + bit);
    }
    return slots;
  }
}
