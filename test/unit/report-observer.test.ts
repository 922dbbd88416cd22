import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { reportObserver } from '../../src/cluster-probe.js';
import type { Report } from '../../src/core/report.js';
import { Metrics } from '../../src/http/metrics.js';
import { emptyReport } from '../support/report-fixtures.js';

const report = (uncovered: number): Report =>
  emptyReport({
    state: uncovered > 0 ? 'fail' : 'ok',
    slots: { covered: 16384 - uncovered, uncovered, gaps: [] },
  });

describe('reportObserver (the hook for repairs and every other diagnosis)', () => {
  it('sets slotwatch_slots_uncovered from each report it is given', async () => {
    const metrics = new Metrics();
    const observe = reportObserver(metrics, null, pino({ level: 'silent' }));
    await observe('prod', report(5461));
    const before = await metrics.registry.getSingleMetricAsString('slotwatch_slots_uncovered');
    await observe('prod', report(0));
    const after = await metrics.registry.getSingleMetricAsString('slotwatch_slots_uncovered');
    expect(before).toContain('slotwatch_slots_uncovered{cluster="prod"} 5461');
    expect(after).toContain('slotwatch_slots_uncovered{cluster="prod"} 0');
  });
});
