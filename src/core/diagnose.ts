import { analyzeSliced } from './analyze.js';
import { countKeys, openSlotNumbers } from './key-counts.js';
import { sleep } from './pool.js';
import { closeProbe, type Probe, type ProbeOptions, probeCluster, rereadViews } from './probe.js';
import type { Report } from './report.js';
import { err, ok, type Result } from './result.js';
import { analyzeRouting } from './routing.js';
import { lastAnnouncedOffsets, movingSlots } from './second-look.js';
import { buildTopologySliced, type Topology } from './topology.js';
import { type Disagreement, findDisagreements } from './views-disagree.js';

export type DiagnoseErrorCode = 'NO_SEED_REACHABLE' | 'AUTH_FAILED' | 'BAD_SEED';

export interface DiagnoseError {
  readonly code: DiagnoseErrorCode;
  readonly message: string;
}

export interface DiagnoseOptions extends ProbeOptions {
  /** How long to wait before re-reading views that disagree (gossip settling). */
  readonly settleMs?: number;
  /** How long to wait before looking again at slots that look stuck or misrouted (live resharding). */
  readonly liveCheckMs?: number;
}

const SEED = /^(\[[0-9a-fA-F:.]+\]|[^\s:,]+):(\d{1,5})$/;

export function validateSeeds(seeds: readonly string[]): Result<string[], DiagnoseError> {
  if (seeds.length === 0)
    return err({ code: 'BAD_SEED', message: 'no seed given: expected host:port[,host:port…]' });
  for (const seed of seeds) {
    const match = SEED.exec(seed);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      return err({ code: 'BAD_SEED', message: `"${seed}" is not host:port (port 1-65535)` });
    }
  }
  return ok([...seeds]);
}

function failure(probe: Probe): DiagnoseError | null {
  if (probe.views.some((v) => v.reachable || v.error?.code === 'limit')) return null;
  const seedViews = probe.views.filter((v) => probe.seeds.includes(v.address));
  const auth = seedViews.find((v) => v.error?.code === 'auth');
  if (auth) {
    return {
      code: 'AUTH_FAILED',
      message: `authentication refused by ${auth.address}: ${auth.error?.message ?? ''}`.trim(),
    };
  }
  const reasons = seedViews.map((v) => `${v.address}: ${v.error?.message ?? 'no answer'}`).join('; ');
  return { code: 'NO_SEED_REACHABLE', message: `no seed answered (${reasons})` };
}

/** Keeps only the disagreements that are still there a moment later: gossip spreading is not one. */
async function settle(
  probe: Probe,
  settleMs: number,
  now: () => number,
): Promise<{ probe: Probe; topology: Topology; found: Disagreement[] }> {
  const topology = await buildTopologySliced(probe.views, probe.slicer);
  await probe.slicer.pause();
  const first = findDisagreements(topology);
  if (first.length === 0) return { probe, topology, found: [] };
  const wait = Math.min(settleMs, probe.deadlineAt - now() - 200);
  if (wait > 0) await sleep(wait);
  const again = await rereadViews(probe);
  const settled = await buildTopologySliced(again.views, probe.slicer);
  await probe.slicer.pause();
  const firstKeys = new Set(first.map((d) => d.key));
  return {
    probe: again,
    topology: settled,
    found: findDisagreements(settled).filter((d) => firstKeys.has(d.key)),
  };
}

/** The report with each silent master's last announced replication offset, where its replicas told one. */
function withLastKnownOffsets(report: Report, announced: ReadonlyMap<string, number>): Report {
  if (announced.size === 0) return report;
  return {
    ...report,
    nodes: report.nodes.map((node) => {
      const offset = announced.get(node.id);
      return offset === undefined ? node : { ...node, lastKnownOffset: offset };
    }),
  };
}

/** Probe → topology → key counts → report: the one diagnosis every door calls. */
export async function diagnose(
  seeds: readonly string[],
  options: DiagnoseOptions = {},
): Promise<Result<Report, DiagnoseError>> {
  const valid = validateSeeds(seeds);
  if (!valid.ok) return valid;
  const now = options.now ?? Date.now;
  let probe = await probeCluster(valid.value, options);
  try {
    const fatal = failure(probe);
    if (fatal) return err(fatal);
    const settled = await settle(probe, options.settleMs ?? 600, now);
    probe = settled.probe;
    const topology = settled.topology;
    const counts = await countKeys(topology, probe.clients, {
      deadlineAt: probe.deadlineAt,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      now,
    });
    await probe.slicer.pause();
    const routing = analyzeRouting(topology, counts);
    await probe.slicer.pause();
    const suspects = new Set([...openSlotNumbers(topology), ...routing.problems.map((p) => p.slot)]);
    const [moving, announced] = await Promise.all([
      movingSlots(probe, topology, counts, suspects, {
        deadlineAt: probe.deadlineAt,
        ...(options.liveCheckMs !== undefined ? { waitMs: options.liveCheckMs } : {}),
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
        now,
      }),
      lastAnnouncedOffsets(probe, topology, {
        deadlineAt: probe.deadlineAt,
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
        now,
      }),
    ]);
    await probe.slicer.pause();
    return ok(
      withLastKnownOffsets(
        await analyzeSliced(
          {
            seeds: valid.value,
            views: probe.views,
            topology,
            counts,
            routing,
            moving,
            disagreements: settled.found,
            discovery: probe.discovery,
            startedAt: probe.startedAt,
            finishedAt: now(),
          },
          probe.slicer,
        ),
        announced,
      ),
    );
  } finally {
    closeProbe(probe);
  }
}
