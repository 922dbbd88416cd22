export const RUNS = Number(process.env.BENCH_RUNS ?? 11);

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

export async function time(task: () => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await task();
  return performance.now() - began;
}

/** One warm-up run, then the median of `runs`. */
export async function timeRuns(task: () => Promise<unknown>, runs = RUNS): Promise<number> {
  await task();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await time(task));
  return median(times);
}

/** Medians of several tasks measured in turns (a, b, c, a, b, c, …), so that load hits each alike. */
export async function timeInTurns(
  tasks: readonly (() => Promise<unknown>)[],
  runs = RUNS,
): Promise<number[]> {
  for (const task of tasks) await task();
  const times = tasks.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [t, task] of tasks.entries()) times[t]?.push(await time(task));
  }
  return times.map(median);
}
