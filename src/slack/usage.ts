import type { Config } from '../config.js';
import { esc } from './blocks/limits.js';

export const SUBCOMMANDS = [
  'status',
  'slots',
  'nodes',
  'check',
  'fix',
  'jobs',
  'audit',
  'timeline',
  'silence',
  'explain',
  'clusters',
  'help',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export function usage(config: Config): string {
  return [
    '*Usage:* `/redis <subcommand> [cluster]`',
    '• `status [cluster]`: the incident view: coverage, slot gaps, nodes that need attention, findings',
    '• `slots [cluster]`: coverage, slot gaps and open slots only',
    '• `nodes [cluster]`: every node with its role, slots and state',
    '• `check [cluster]`: the full report, info findings included',
    '• `fix [cluster]`: the repairs that fit now, each with a Request button (runs after approvals)',
    '• `jobs [cluster]`: pending requests, running and recent repairs',
    '• `audit [cluster] [request id]`: who requested, approved, rejected and ran what',
    '• `timeline [cluster]`: the incident so far, or the last one: detected, acknowledged, approved, each step, recovered, data lost',
    '• `silence [cluster] [duration|off]`: mute automated incident posts for maintenance (default `1h`, at most `7d`)',
    '• `explain <redis error text | finding code>`: cause, checks and fixes (e.g. `SLOTS_OWNER_FAILED`)',
    '• `clusters`: the clusters Slotwatch watches',
    '• `help`: this text',
    `*Clusters:* ${clusterNames(config)}`,
  ].join('\n');
}

export type ParsedCommand =
  | { readonly ok: true; readonly subcommand: Subcommand; readonly cluster: string; readonly rest: string }
  | {
      readonly ok: false;
      readonly subcommand: string;
      readonly error: string;
      /** Whether the cluster list helps the person (a cluster name was wrong). */
      readonly listClusters: boolean;
    };

const refuse = (subcommand: string, error: string, listClusters = false): ParsedCommand => ({
  ok: false,
  subcommand,
  error,
  listClusters,
});

/** Subcommands whose second word may be something other than a cluster (a duration, a request id). */
const SECOND_WORD: Partial<Record<Subcommand, string>> = {
  silence: 'a duration like `2h` or `off`',
  audit: 'a request id',
};

/** `/redis status prod` → status on prod; mistakes come back with a specific reason. */
export function parseCommand(text: string, config: Config): ParsedCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first = 'status', ...rest] = words;
  const subcommand = first.toLowerCase();
  if (!(SUBCOMMANDS as readonly string[]).includes(subcommand))
    return refuse('unknown', `Unknown subcommand \`${esc(first)}\`: \`/redis help\` lists them.`);
  const sub = subcommand as Subcommand;
  if (sub === 'explain') {
    const errorText = text.trim().slice(first.length).trim();
    if (errorText === '')
      return refuse(
        sub,
        'Give the Redis error text or a finding code: `/redis explain CLUSTERDOWN The cluster is down`.',
      );
    return { ok: true, subcommand: sub, cluster: config.defaultCluster, rest: errorText };
  }
  const known = (name: string) => config.clusters.some((c) => c.name === name);
  const second = SECOND_WORD[sub];
  if (second) {
    // The cluster is optional: `silence 2h` means the default cluster, `silence prod` a default duration.
    const [head, ...tail] = rest;
    const named = head !== undefined && known(head);
    const cluster = named ? head : config.defaultCluster;
    const args = named ? tail : rest;
    if (args.length > 1)
      return named
        ? refuse(sub, `\`${sub}\` takes a cluster and ${second}, got \`${esc(rest.join(' '))}\`.`)
        : refuse(sub, `Unknown cluster \`${esc(head ?? '')}\`.`, true);
    return { ok: true, subcommand: sub, cluster, rest: args[0] ?? '' };
  }
  if (rest.length > 1)
    return refuse(sub, `\`${sub}\` takes at most one cluster name, got \`${esc(rest.join(' '))}\`.`);
  const cluster = rest[0] ?? config.defaultCluster;
  if (!known(cluster)) return refuse(sub, `Unknown cluster \`${esc(cluster)}\`.`, true);
  return { ok: true, subcommand: sub, cluster, rest: '' };
}

/** The cluster names, for answers to a wrong one. */
export function clusterNames(config: Config): string {
  return config.clusters
    .map((c) => (c.name === config.defaultCluster ? `\`${esc(c.name)}\` (default)` : `\`${esc(c.name)}\``))
    .join(', ');
}
