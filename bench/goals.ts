/** One of issue 13's goals as measured in this run: what was asked, what was measured, against what. */
export interface GoalRow {
  readonly goal: string;
  readonly measured: string;
  readonly baseline: string;
  readonly met: boolean;
}

const rows: GoalRow[] = [];

/** Sections record their goal rows as they measure; the run prints them together at the end. */
export function recordGoal(row: GoalRow): void {
  rows.push(row);
}

export const ratio = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a');

/** Every goal measured in this run as one Markdown table, with the machine it ran on. */
export function goalTable(machine: string): string {
  if (rows.length === 0) return '';
  const met = rows.filter((r) => r.met).length;
  return [
    `Goals, measured in this run (${machine}): ${met} of ${rows.length} met`,
    '',
    '| goal | measured | baseline in the same run | met |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.goal} | ${r.measured} | ${r.baseline} | ${r.met ? 'yes' : '**no**'} |`),
  ].join('\n');
}
