import { analyze } from '../src/core/analyze.js';
import { NodeFieldsMemo, parseClusterNodesInBatches } from '../src/core/cluster-nodes.js';
import type { NodeView } from '../src/core/probe.js';
import { analyzeRouting } from '../src/core/routing.js';
import { buildTopology } from '../src/core/topology.js';
import { findDisagreements } from '../src/core/views-disagree.js';
import { median } from './timing.js';

const id = (n: number): string => `${n.toString(16).padStart(8, '0')}${'a1b2c3d4'.repeat(4)}`;

/** CLUSTER NODES as node `viewer` of a healthy cluster of `masters` masters with one replica each answers it. */
function nodesReply(masters: number, viewer: number, now: number): string {
  const total = masters * 2;
  const lines: string[] = [];
  for (let n = 0; n < total; n++) {
    const master = n < masters;
    const start = Math.floor((n * 16384) / masters);
    const end = Math.floor(((n + 1) * 16384) / masters) - 1;
    const flags = `${n === viewer ? 'myself,' : ''}${master ? 'master' : 'slave'}`;
    const pong = n === viewer ? 0 : now - ((viewer * 31 + n * 17) % 900);
    lines.push(
      `${id(n)} 127.0.0.1:${7000 + n}@${17000 + n},,shard-id=${id(n % masters)} ${flags} ${master ? '-' : id(n - masters)} 0 ${pong} ${n + 1} connected${master ? ` ${start}-${end}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const replies = (masters: number): string[] => {
  const now = Date.now();
  return Array.from({ length: masters * 2 }, (_, viewer) => nodesReply(masters, viewer, now));
};

/** Every reply parsed as one probe parses them (one memo). */
async function views(texts: readonly string[]): Promise<NodeView[]> {
  const memo = new NodeFieldsMemo();
  const out: NodeView[] = [];
  for (const [viewer, text] of texts.entries()) {
    const parsed = await parseClusterNodesInBatches(text, undefined, memo);
    if (!parsed.ok) throw new Error(parsed.error.message);
    out.push({
      address: `127.0.0.1:${7000 + viewer}`,
      reachable: true,
      error: null,
      latencyMs: 1,
      notCluster: false,
      nodes: parsed.value,
      clusterInfo: null,
      info: { server: { redis_version: '7.0.15' }, replication: {}, keyspace: {} },
      config: {
        requireFullCoverage: true,
        allowReadsWhenDown: false,
        nodeTimeoutMs: 15000,
        unavailable: null,
      },
      parseErrors: [],
    });
  }
  return out;
}

const EMPTY_COUNTS = { bySlot: new Map(), counted: new Map(), dbsize: new Map() };

/** The CPU part of one diagnosis (parse every view, topology, disagreements, routing, report), no network. */
export async function benchAnalysisCpu(sizes: readonly number[] = [60, 200], runs = 15): Promise<void> {
  for (const size of sizes) {
    const times: Record<string, number[]> = {
      parse: [],
      topology: [],
      disagree: [],
      routing: [],
      analyze: [],
    };
    for (let r = 0; r < runs; r++) {
      const texts = replies(size / 2);
      let t = performance.now();
      const lap = (name: string) => {
        const n = performance.now();
        times[name]?.push(n - t);
        t = n;
      };
      const all = await views(texts);
      lap('parse');
      const topology = buildTopology(all);
      lap('topology');
      const disagreements = findDisagreements(topology);
      lap('disagree');
      const routing = analyzeRouting(topology, EMPTY_COUNTS);
      lap('routing');
      analyze({
        seeds: [all[0]?.address ?? ''],
        views: all,
        topology,
        counts: EMPTY_COUNTS,
        routing,
        disagreements,
        startedAt: 0,
        finishedAt: 0,
      });
      lap('analyze');
    }
    const parts = Object.entries(times).map(([name, values]) => `${name} ${median(values).toFixed(1)} ms`);
    console.log(`  CPU only, ${size} nodes: ${parts.join(' | ')}`);
  }
}
