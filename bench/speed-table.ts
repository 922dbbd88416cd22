import type { CheckSpeed } from './check-speed-bench.js';
import type { GoalRow } from './goals.js';

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const ratio = (value: number): string => `${value.toFixed(1)}x`;

/** Issue 13's check-speed goals, each with what this run measured. */
export function speedGoals(speed: CheckSpeed): GoalRow[] {
  const rows = speed.rows;
  const row = (nodes: number, delayMs: number) =>
    rows.find((r) => r.nodes === nodes && r.delayMs === delayMs);
  const goals: GoalRow[] = [];
  for (const nodes of [60, 200]) {
    const r = row(nodes, 0);
    if (r)
      goals.push({
        goal: `${nodes} nodes, loopback: \`diagnose()\` ≥3x faster than redis-cli`,
        measured: `${ms(r.diagnose)} ms (${ratio(r.redisCli / r.diagnose)})`,
        baseline: `\`redis-cli --cluster check\` ${ms(r.redisCli)} ms`,
        met: r.redisCli / r.diagnose >= 3,
      });
  }
  const slow = row(60, 1);
  if (slow)
    goals.push({
      goal: '60 nodes, +1 ms per hop: `diagnose()` ≥10x faster than redis-cli',
      measured: `${ms(slow.diagnose)} ms (${ratio(slow.redisCli / slow.diagnose)})`,
      baseline: `\`redis-cli --cluster check\` ${ms(slow.redisCli)} ms`,
      met: slow.redisCli / slow.diagnose >= 10,
    });
  const small = row(60, 0);
  const large = row(200, 0);
  if (small && large)
    goals.push({
      goal: '200 nodes cost ≤4x what 60 cost',
      measured: `${ratio(large.diagnose / small.diagnose)} (${ms(large.diagnose)} ms / ${ms(small.diagnose)} ms)`,
      baseline: `redis-cli: ${ratio(large.redisCli / small.redisCli)}`,
      met: large.diagnose / small.diagnose <= 4,
    });
  if (large)
    goals.push({
      goal: '200 nodes: the CLI as a whole process faster than redis-cli',
      measured: `\`slotwatch check\` ${ms(large.cli)} ms (${ratio(large.redisCli / large.cli)})`,
      baseline: `\`redis-cli --cluster check\` ${ms(large.redisCli)} ms`,
      met: large.cli < large.redisCli,
    });
  const { help, bareNode } = speed.startup;
  goals.push({
    goal: '`slotwatch --help` within 2x of `node -e 0`',
    measured: `${ms(help)} ms (${ratio(help / bareNode)} of node -e 0)`,
    baseline: `\`node -e 0\` ${ms(bareNode)} ms`,
    met: help <= 2 * bareNode,
  });
  if (speed.hung)
    goals.push({
      goal: 'a hung node costs one per-node deadline (2000 ms), never more',
      measured: `${ms(speed.hung.diagnose)} ms with one replica SIGSTOPped (6 nodes)`,
      baseline: `redis-cli: ${speed.hung.redisCli}`,
      met: speed.hung.diagnose < 2000 + 1000,
    });
  return goals;
}

function goalLines(speed: CheckSpeed): string[] {
  return speedGoals(speed).map((g) => `- ${g.met ? 'met' : 'NOT met'}: ${g.goal}: ${g.measured}`);
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
  return [...header, ...rows, ...extra, '', ...goalLines(speed)].join('\n');
}
