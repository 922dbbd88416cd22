import type { CheckSpeed, SpeedRow } from './check-speed-bench.js';

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const ratio = (value: number): string => `${value.toFixed(1)}x`;

function goalLines(rows: readonly SpeedRow[], speed: CheckSpeed): string[] {
  const row = (nodes: number, delayMs: number) =>
    rows.find((r) => r.nodes === nodes && r.delayMs === delayMs);
  const lines: string[] = [];
  const goal = (text: string, met: boolean) => lines.push(`- ${met ? 'met' : 'NOT met'}: ${text}`);
  for (const nodes of [60, 200]) {
    const r = row(nodes, 0);
    if (r)
      goal(
        `${nodes} nodes, loopback, diagnose ≥3x faster than redis-cli: ${ratio(r.redisCli / r.diagnose)}`,
        r.redisCli / r.diagnose >= 3,
      );
  }
  const slow = row(60, 1);
  if (slow)
    goal(
      `60 nodes, +1 ms per hop, diagnose ≥10x faster: ${ratio(slow.redisCli / slow.diagnose)}`,
      slow.redisCli / slow.diagnose >= 10,
    );
  const small = row(60, 0);
  const large = row(200, 0);
  if (small && large)
    goal(
      `200 nodes cost ≤4x what 60 cost: ${ratio(large.diagnose / small.diagnose)}`,
      large.diagnose / small.diagnose <= 4,
    );
  if (large)
    goal(
      `200 nodes, CLI as a whole process faster than redis-cli: ${ratio(large.redisCli / large.cli)}`,
      large.cli < large.redisCli,
    );
  const { help, bareNode } = speed.startup;
  goal(`\`slotwatch --help\` within 2x of \`node -e 0\`: ${ratio(help / bareNode)}`, help <= 2 * bareNode);
  return lines;
}

/** The check-speed figures as one Markdown table, ratios included, then the goals they meet. */
export function speedTable(speed: CheckSpeed): string {
  const compared = speed.rows.some((r) => r.before !== null);
  const beforeHead = compared ? ' before: `diagnose()` | before: CLI |' : '';
  const header = [
    `| cluster | slotwatch \`diagnose()\` in process | slotwatch CLI, whole process | \`redis-cli --cluster check\` | redis-cli / diagnose | redis-cli / CLI |${beforeHead} load (1 min) |`,
    `|---|---:|---:|---:|---:|---:|${compared ? '---:|---:|' : ''}---:|`,
  ];
  const blank = compared ? ' | |' : '';
  const rows = speed.rows.map((r) => {
    const before = r.before ? ` ${ms(r.before.diagnose)} ms | ${ms(r.before.cli)} ms |` : blank;
    return `| ${r.scenario} | ${ms(r.diagnose)} ms | ${ms(r.cli)} ms | ${ms(r.redisCli)} ms | ${ratio(r.redisCli / r.diagnose)} | ${ratio(r.redisCli / r.cli)} |${before} ${r.load} |`;
  });
  const { help, bareNode, helpBefore } = speed.startup;
  const helpBeforeCell = compared ? ` | ${helpBefore === null ? '' : `${ms(helpBefore)} ms`} |` : '';
  const extra = [
    speed.hung
      ? `| 6 nodes, one replica SIGSTOPped | ${ms(speed.hung.diagnose)} ms (one 2000 ms node deadline) | | ${speed.hung.redisCli} | | |${blank} |`
      : null,
    `| \`slotwatch --help\` (vs \`node -e 0\`: ${ms(bareNode)} ms) | | ${ms(help)} ms (${ratio(help / bareNode)} of node -e 0) | | | |${helpBeforeCell} |`,
  ].filter((line): line is string => line !== null);
  return [...header, ...rows, ...extra, '', ...goalLines(speed.rows, speed)].join('\n');
}
