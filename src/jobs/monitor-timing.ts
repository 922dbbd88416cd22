/** How the monitor's BullMQ workers are tuned from MONITOR_INTERVAL, so a dead replica costs under one interval. */
export interface MonitorTiming {
  /** Lock of a running probe job; renewed every half of it while the replica lives. */
  readonly lockDurationMs: number;
  /** How often some replica looks for jobs whose lock lapsed (their replica died) and hands them out again. */
  readonly stalledIntervalMs: number;
  /** A tick skips a cluster whose last probe started less than this ago (another tick or an alert saw it). */
  readonly freshMs: number;
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(value)));

/**
 * A job of a replica killed at time d is back in the queue by d + lockDuration + stalledInterval at the
 * latest (one check marks it, the first check after its lock lapsed moves it): a third and a sixth of the
 * interval keep that at half an interval, so the cluster is probed again within one. The lock's floor keeps
 * a busy event loop (a renewal late by a second, seen with 1,200 nodes on two loaded cores) from passing
 * for a dead replica.
 */
export function monitorTiming(intervalMs: number): MonitorTiming {
  return {
    lockDurationMs: clamp(intervalMs / 3, 2000, 30_000),
    stalledIntervalMs: clamp(intervalMs / 6, 500, 30_000),
    freshMs: Math.round(intervalMs / 2),
  };
}
