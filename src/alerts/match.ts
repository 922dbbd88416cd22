import type { ClusterConfig } from '../config.js';
import type { Alert } from './payloads.js';

const hostPort = (value: string | undefined): string | null => {
  if (!value) return null;
  const trimmed = value.replace(/^redis:\/\//, '').replace(/\/.*$/, '');
  return /:\d+$/.test(trimmed) ? trimmed : null;
};

/**
 * The configured cluster an alert is about: by its cluster label, else by an address label (`instance`,
 * `addr`, redis_exporter's `redis_addr`) naming one of the cluster's seeds or mapped addresses.
 */
export function matchCluster(
  alert: Alert,
  clusters: readonly ClusterConfig[],
  label: string,
  /** Node addresses last seen by a probe of the cluster. */
  knownNodes: (cluster: string) => Iterable<string> = () => [],
): ClusterConfig | null {
  const named = alert.labels[label];
  if (named) return clusters.find((c) => c.name === named) ?? null;
  const addresses = ['redis_addr', 'addr', 'instance']
    .map((k) => hostPort(alert.labels[k]))
    .filter((a): a is string => a !== null);
  for (const cluster of clusters) {
    const known = new Set([
      ...cluster.seeds,
      ...knownNodes(cluster.name),
      ...Object.keys(cluster.addressMap ?? {}),
      ...Object.values(cluster.addressMap ?? {}),
    ]);
    if (addresses.some((a) => known.has(a))) return cluster;
  }
  return null;
}

export const describeAlert = (alert: Alert): string =>
  `${alert.labels.alertname ?? 'alert'} ${alert.status}${alert.annotations?.summary ? `: ${alert.annotations.summary}` : ''}`;
