/** Where an execution records the steps it finished, so a run that died can resume at a step boundary. */
export interface Journal {
  finishedSteps(): Promise<ReadonlySet<number>>;
  markFinished(step: number): Promise<void>;
}

/** An in-process journal (the CLI; tests). The queue keeps its own in Redis. */
export function memoryJournal(): Journal {
  const finished = new Set<number>();
  return {
    finishedSteps: async () => new Set(finished),
    markFinished: async (step) => {
      finished.add(step);
    },
  };
}
