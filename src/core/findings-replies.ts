import { finding, plural } from './finding.js';
import type { Discovery, NodeView } from './probe.js';
import type { Finding } from './report.js';
import type { ParseError } from './result.js';

const COMMAND: Record<ParseError['what'], string> = {
  'cluster-nodes': 'CLUSTER NODES',
  'cluster-info': 'CLUSTER INFO',
  info: 'INFO',
  'slot-range': 'a slot range',
};

const EXPECTED: Record<ParseError['what'], string> = {
  'cluster-nodes':
    'one node per line: <id> <ip:port@cport[,hostname]> <flags> <master|-> <ping-sent> <pong-recv> <config-epoch> <connected|disconnected> <slot>…, with exactly one "myself" line',
  'cluster-info': 'key:value lines with cluster_state ok|fail and the cluster_* counters',
  info: '"# Section" headers and key:value lines',
  'slot-range': 'slots 0-16383',
};

export const BAD_LINE_CHARS = 120;

/** The offending line of a parse error, shortened for a chat message. */
export function badLine(error: ParseError): string {
  const line = error.line > 0 ? error.input : (error.input.split(/\r?\n/, 1)[0] ?? '');
  return line.length > BAD_LINE_CHARS ? `${line.slice(0, BAD_LINE_CHARS)}…` : line;
}

const idOrAddress = (view: NodeView): string => view.nodes?.find((n) => n.myself)?.id ?? view.address;

/** Views that answered with something that is not what the command returns. */
export function replyUnparseable(views: readonly NodeView[]): Finding[] {
  return views.flatMap((view) => {
    const [first, ...more] = view.parseErrors;
    if (!view.reachable || !first) return [];
    const where = first.line > 0 ? `line ${first.line}` : 'the reply';
    const unused = view.nodes === null && !view.notCluster ? ' Its view of the cluster is left out.' : '';
    return [
      finding(
        'REPLY_UNPARSEABLE',
        'error',
        `${view.address} answered ${COMMAND[first.what]} with a reply that cannot be read (${where}: ${first.message}): "${badLine(first)}".${unused}`,
        {
          nodes: [idOrAddress(view)],
          next: `Check that ${view.address} is a Redis Cluster node and not a proxy or another service, and that the command is not renamed: ${COMMAND[first.what]} should return ${EXPECTED[first.what]}.`,
          details: [
            `expected: ${EXPECTED[first.what]}`,
            ...more.map((e) => `${COMMAND[e.what]}: ${e.message}: "${badLine(e)}"`),
          ],
        },
      ),
    ];
  });
}

const NEXT_LIMIT =
  'A Redis node never sends that much for these commands: check what listens there. If the cluster really is that large, raise the limit (--max-reply-bytes / --max-nodes, or PROBE_MAX_REPLY_BYTES / PROBE_MAX_NODES for the bot; at most 1000 nodes).';

/** Nodes whose replies passed a limit, and addresses discovery did not dial. */
export function limitExceeded(views: readonly NodeView[], discovery: Discovery | undefined): Finding[] {
  const nodes = views
    .filter((v) => v.error?.code === 'limit')
    .map((v) =>
      finding('LIMIT_EXCEEDED', 'error', `${v.address} ${v.error?.message ?? 'passed a limit'}.`, {
        nodes: [v.address],
        next: NEXT_LIMIT,
      }),
    );
  if (!discovery || discovery.skipped === 0) return nodes;
  return [
    ...nodes,
    finding(
      'LIMIT_EXCEEDED',
      'error',
      `The views list more nodes than the node limit (${discovery.maxNodes}); not probed: ${plural(discovery.skipped, 'address', 'addresses')}.`,
      { next: NEXT_LIMIT },
    ),
  ];
}
