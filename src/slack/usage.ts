import type { Config } from '../config.js';

export const SUBCOMMANDS = [
  'status',
  'slots',
  'nodes',
  'check',
  'fix',
  'jobs',
  'audit',
  'silence',
  'explain',
  'clusters',
  'help',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export function usage(config: Config): string {
  const names = config.clusters.map((c) =>
    c.name === config.defaultCluster ? `\`${c.name}\` (default)` : `\`${c.name}\``,
  );
  return [
    '*Usage:* `/redis <subcommand> [cluster]`',
    '• `status [cluster]`: the incident view: coverage, slot gaps, nodes that need attention, findings',
    '• `slots [cluster]`: coverage, slot gaps and open slots only',
    '• `nodes [cluster]`: every node with its role, slots and state',
    '• `check [cluster]`: the full report, info findings included',
    '• `fix [cluster]`: the repairs that fit now, each with a Request button (runs after approvals)',
    '• `jobs [cluster]`: pending requests, running and recent repairs',
    '• `audit [cluster]`: who requested, approved, rejected and ran what',
    '• `silence <cluster> <duration>`: mute automated incident posts for maintenance (e.g. `2h`)',
    '• `explain <redis error text>`: cause, checks and fixes for a Redis error',
    '• `clusters`: the clusters Slotwatch watches',
    '• `help`: this text',
    `*Clusters:* ${names.join(', ')}`,
  ].join('\n');
}

export type ParsedCommand =
  | { readonly ok: true; readonly subcommand: Subcommand; readonly cluster: string; readonly rest: string }
  | { readonly ok: false; readonly subcommand: string; readonly error: string };

/** `/redis status prod` → status on prod; mistakes come back with a specific reason. */
export function parseCommand(text: string, config: Config): ParsedCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first = 'status', ...rest] = words;
  const subcommand = first.toLowerCase();
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand)) {
    return { ok: false, subcommand: 'unknown', error: `Unknown subcommand \`${first}\`.` };
  }
  const sub = subcommand as Subcommand;
  if (sub === 'explain') {
    const errorText = text.trim().slice(first.length).trim();
    if (errorText === '')
      return {
        ok: false,
        subcommand: sub,
        error: 'Give the Redis error text: `/redis explain CLUSTERDOWN The cluster is down`.',
      };
    return { ok: true, subcommand: sub, cluster: config.defaultCluster, rest: errorText };
  }
  if (rest.length > 1)
    return {
      ok: false,
      subcommand: sub,
      error: `\`${sub}\` takes at most one cluster name, got \`${rest.join(' ')}\`.`,
    };
  const cluster = rest[0] ?? config.defaultCluster;
  if (!config.clusters.some((c) => c.name === cluster)) {
    return { ok: false, subcommand: sub, error: `Unknown cluster \`${cluster}\`.` };
  }
  return { ok: true, subcommand: sub, cluster, rest: '' };
}
