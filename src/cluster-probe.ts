import type { ClusterConfig } from './config.js';
import { type DiagnoseError, type DiagnoseOptions, diagnose } from './core/diagnose.js';
import type { Report } from './core/report.js';
import type { Result } from './core/result.js';
import type { Metrics } from './http/metrics.js';

/** Probe options for a configured cluster: credentials, TLS and address map, never logged. */
export function probeOptions(cluster: ClusterConfig): DiagnoseOptions {
  return {
    nodeTimeoutMs: 2000,
    deadlineMs: 6000,
    ...(cluster.username !== undefined ? { username: cluster.username } : {}),
    ...(cluster.password !== undefined ? { password: cluster.password } : {}),
    ...(cluster.tls ? { tls: cluster.tls } : {}),
    ...(cluster.addressMap ? { addressMap: cluster.addressMap } : {}),
    ...cluster.probeLimits,
  };
}

export type DiagnoseCluster = (cluster: ClusterConfig) => Promise<Result<Report, DiagnoseError>>;

/** Node addresses each cluster had at its last diagnosis (alerts name nodes, not clusters). */
export class KnownNodes {
  private readonly byCluster = new Map<string, Set<string>>();

  record(cluster: string, report: Report): void {
    this.byCluster.set(cluster, new Set(report.nodes.flatMap((n) => (n.address ? [n.address] : []))));
  }

  of(cluster: string): Iterable<string> {
    return this.byCluster.get(cluster) ?? [];
  }
}

/** Diagnoses a configured cluster and records the metrics every door shares. */
export function diagnoser(metrics: Metrics, known?: KnownNodes): DiagnoseCluster {
  return async (cluster) => {
    const began = performance.now();
    const result = await diagnose(cluster.seeds, probeOptions(cluster));
    metrics.probed(cluster.name, (performance.now() - began) / 1000, result.ok ? result.value : null);
    if (result.ok) known?.record(cluster.name, result.value);
    return result;
  };
}
