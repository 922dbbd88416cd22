/**
 * Where an execution records its steps, so that a run that died anywhere, even inside a step, is finished by
 * the next one. "Started" is written before a step runs, "finished" after it is verified.
 */
export interface Journal {
  finishedSteps(): Promise<ReadonlySet<number>>;
  /** Whether an earlier run already started a step: then the plan is finished, never refused as stale. */
  anyStarted(): Promise<boolean>;
  /** Records that `step` starts; a reason to stop instead (cancelled, taken over) when it must not run. */
  markStarted(step: number, detail: string): Promise<string | null>;
  markFinished(step: number, detail: string): Promise<void>;
}

/** An in-process journal (the CLI; tests). The bot keeps its own in the queue Redis. */
export function memoryJournal(): Journal {
  const finished = new Set<number>();
  let started = false;
  return {
    finishedSteps: async () => new Set(finished),
    anyStarted: async () => started,
    markStarted: async () => {
      started = true;
      return null;
    },
    markFinished: async (step) => {
      finished.add(step);
    },
  };
}
