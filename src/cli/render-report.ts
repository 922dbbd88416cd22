import type { Finding, NodeReport, Report } from '../core/report.js';
import { formatRanges, SLOT_COUNT } from '../core/slot-ranges.js';
import { type Style, table } from './style.js';

const MAX_ROWS = 20;

const shortId = (id: string | null) => (id ? id.slice(0, 8) : '-');

function nodeName(report: Report, id: string | null): string {
  if (!id) return '-';
  const node = report.nodes.find((n) => n.id === id);
  return node?.address ? `${node.address} (${shortId(id)})` : shortId(id);
}

function more(total: number, shown: number): string[] {
  return total > shown ? [`  … and ${total - shown} more (see --json)`] : [];
}

function header(report: Report, s: Style): string[] {
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  const verdict =
    report.state === 'fail'
      ? s.red(s.bold('FAIL'))
      : errors > 0
        ? s.red(s.bold('ERRORS'))
        : warnings > 0
          ? s.yellow(s.bold('WARN'))
          : s.green(s.bold('OK'));
  const down = report.findings.some((f) => f.code === 'CLUSTER_DOWN') ? ' CLUSTERDOWN' : '';
  const percent = ((report.slots.covered / SLOT_COUNT) * 100).toFixed(1);
  return [
    `${verdict}${down}  ${report.slots.covered}/${SLOT_COUNT} slots covered (${percent}%), ${report.slots.uncovered} uncovered · ${errors} errors, ${warnings} warnings`,
    s.dim(
      `seeds ${report.seeds.join(',')} · ${report.nodes.length} nodes · probed ${report.probedAt} in ${report.durationMs} ms`,
    ),
  ];
}

function gaps(report: Report): string[] {
  if (report.slots.gaps.length === 0) return [];
  const rows = report.slots.gaps
    .slice(0, MAX_ROWS)
    .map((g) => [
      formatRanges([[g.start, g.end]]),
      String(g.end - g.start + 1),
      g.reason,
      nodeName(report, g.owner),
      g.keys === null ? 'unknown' : String(g.keys),
    ]);
  return [
    '',
    'Gaps',
    ...table([['SLOTS', 'COUNT', 'REASON', 'OWNER', 'KEYS'], ...rows]),
    ...more(report.slots.gaps.length, MAX_ROWS),
  ];
}

function openSlots(report: Report): string[] {
  if (report.openSlots.length === 0) return [];
  const rows = report.openSlots
    .slice(0, MAX_ROWS)
    .map((o) => [
      String(o.slot),
      o.state + (o.nodeRole === 'replica' ? ' (replica)' : ''),
      nodeName(report, o.node),
      nodeName(report, o.peer),
      `${o.nodeKeys ?? '?'}/${o.peerKeys ?? '?'}`,
      o.live ? 'moving' : 'stuck',
    ]);
  return [
    '',
    'Open slots',
    ...table([['SLOT', 'STATE', 'NODE', 'PEER', 'KEYS node/peer', ''], ...rows]),
    ...more(report.openSlots.length, MAX_ROWS),
  ];
}

function nodeState(n: NodeReport, s: Style): string {
  const states: string[] = [];
  if (n.flags.includes('fail')) states.push(s.red('FAIL'));
  if (!n.reachable) states.push(s.red(`unreachable: ${n.error ?? 'no answer'}`));
  if (n.flags.includes('fail?')) states.push(s.yellow('PFAIL'));
  if (n.clusterState === 'fail') states.push(s.yellow('says cluster_state:fail'));
  if (n.replicaLinkUp === false) states.push(s.yellow('replication link down'));
  return states.length > 0 ? states.join(', ') : s.green('ok');
}

function nodes(report: Report, s: Style): string[] {
  const rows = report.nodes
    .slice(0, MAX_ROWS * 2)
    .map((n) => [
      n.address ?? '(no address)',
      shortId(n.id),
      n.role === 'replica' ? `replica of ${shortId(n.replicaOf)}` : n.role,
      formatRanges(n.slots, 3),
      n.dbsize === null ? '?' : String(n.dbsize),
      nodeState(n, s),
    ]);
  return [
    '',
    'Nodes',
    ...table([['ADDRESS', 'ID', 'ROLE', 'SLOTS', 'KEYS', 'STATE'], ...rows]),
    ...more(report.nodes.length, MAX_ROWS * 2),
  ];
}

function finding(f: Finding, s: Style): string[] {
  const tag =
    f.severity === 'error'
      ? s.red('ERROR  ')
      : f.severity === 'warning'
        ? s.yellow('WARN   ')
        : s.dim('INFO   ');
  return [
    `  ${tag}${s.bold(f.code)}  ${f.summary}`,
    ...f.details.slice(0, 6).map((d) => s.dim(`           · ${d}`)),
    ...(f.details.length > 6 ? [s.dim(`           · … and ${f.details.length - 6} more`)] : []),
    `           next: ${f.next}`,
  ];
}

function config(report: Report, s: Style): string[] {
  const missing = report.config.filter((c) => c.unavailable);
  return missing.length === 0
    ? []
    : [
        '',
        s.dim(
          `Config not readable on ${missing.length} node(s): ${missing
            .map((c) => `${c.address} (${c.unavailable})`)
            .slice(0, 3)
            .join('; ')}`,
        ),
      ];
}

/** The compact, five-second human report. */
export function renderReport(report: Report, s: Style): string {
  const findings = report.findings.length === 0 ? ['  none'] : report.findings.flatMap((f) => finding(f, s));
  return [
    ...header(report, s),
    ...gaps(report),
    ...openSlots(report),
    ...nodes(report, s),
    '',
    'Findings',
    ...findings,
    ...config(report, s),
    '',
  ].join('\n');
}
