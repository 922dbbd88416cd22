import { localBackend } from '../test/support/redis-backend.js';
import { benchAlerts } from './alerts-bench.js';
import { benchAnalysisCpu } from './analysis-cpu-bench.js';
import { benchCheckSpeed } from './check-speed-bench.js';
import { benchFix } from './fix-bench.js';
import { goalTable, recordGoal } from './goals.js';
import { benchHostile } from './hostile-bench.js';
import { machineLine } from './machine.js';
import { benchLiveReshard, benchOpenSlots } from './open-slots-bench.js';
import { benchReplicas } from './replicas-bench.js';
import { benchSlack } from './slack-bench.js';
import { speedGoals, speedTable } from './speed-table.js';
import { RUNS } from './timing.js';

const SECTIONS = [
  'check',
  'cpu',
  'repairs',
  'open-slots',
  'live-reshard',
  'alerts',
  'hostile',
  'replicas',
  'slack',
] as const;
type Section = (typeof SECTIONS)[number];

/** `BENCH_ONLY=check,hostile` runs only those sections; unset runs them all. */
function chosenSections(only = process.env.BENCH_ONLY): Set<Section> {
  if (!only) return new Set(SECTIONS);
  const wanted = only.split(',').map((s) => s.trim());
  const unknown = wanted.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`BENCH_ONLY: unknown section ${unknown.join(', ')} (know ${SECTIONS.join(', ')})`);
  return new Set(wanted as Section[]);
}

async function main(): Promise<void> {
  const sections = chosenSections();
  const backend = localBackend();
  const machine = machineLine();
  console.log(`Slotwatch benchmark: ${RUNS} runs each, medians; ${machine}`);
  try {
    if (sections.has('check')) {
      const speed = await benchCheckSpeed(backend);
      console.log(`\nCheck speed (${RUNS} runs each, medians, measured in turns; ${machine})\n`);
      console.log(speedTable(speed));
      console.log('');
      for (const goal of speedGoals(speed)) recordGoal(goal);
    }
    if (sections.has('cpu')) await benchAnalysisCpu();
    if (sections.has('repairs')) await benchFix(backend);
    if (sections.has('open-slots')) await benchOpenSlots(backend);
    if (sections.has('live-reshard')) await benchLiveReshard(backend);
    if (sections.has('alerts')) await benchAlerts(backend);
    if (sections.has('hostile')) await benchHostile();
    if (sections.has('replicas')) await benchReplicas(backend);
    if (sections.has('slack')) await benchSlack(backend);
    console.log(`\n${goalTable(machine)}`);
  } finally {
    await backend.stopAll();
  }
}

await main();
process.exit(0);
