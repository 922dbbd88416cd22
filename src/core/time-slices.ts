/** How long CPU work may hold the event loop before it lets timers and sockets run. */
export const DEFAULT_SLICE_MS = 10;

/**
 * Cuts long CPU work into slices: `pause()` lets the event loop run (timers, sockets) once `sliceMs` have
 * passed since its last turn, and costs a clock read otherwise. Work that shares one slicer (every parse of
 * a probe) waits for one turn together and resumes one slice at a time, never back to back.
 */
export class TimeSlicer {
  private since: number;
  private turn: { readonly done: Promise<void>; claimed: boolean } | null = null;

  constructor(
    private readonly sliceMs = DEFAULT_SLICE_MS,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.since = clock();
  }

  get due(): boolean {
    return this.clock() - this.since >= this.sliceMs;
  }

  async pause(): Promise<void> {
    if (!this.due) return;
    for (;;) {
      const turn = this.nextTurn();
      await turn.done;
      // The first to resume takes the new slice; the others go on only while it lasts.
      if (!turn.claimed || !this.due) {
        turn.claimed = true;
        return;
      }
    }
  }

  private nextTurn(): { readonly done: Promise<void>; claimed: boolean } {
    if (this.turn) return this.turn;
    let resolve = () => {};
    const turn = { done: new Promise<void>((r) => (resolve = r)), claimed: false };
    this.turn = turn;
    setImmediate(() => {
      this.turn = null;
      this.since = this.clock();
      resolve();
    });
    return turn;
  }
}

/** Work written as a generator that yields where it may be cut. */
export type Steps<T> = Generator<void, T, void>;

/** Runs the steps at once, without yielding (pure callers, small inputs). */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Runs the steps, letting the event loop run whenever a slice is used up. */
export async function runStepsSliced<T>(steps: Steps<T>, slicer: TimeSlicer): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await slicer.pause();
  }
}
