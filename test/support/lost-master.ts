import { keySlot } from '../../src/core/key-slot.js';
import { killMasterAndReplicas } from './break.js';
import type { TestCluster, TestNode } from './cluster.js';
import { seedData, type Written } from './data.js';

export interface LostMaster {
  readonly alive: TestNode[];
  readonly written: Written[];
  /** Slots of the dead master (0-5460) that held keys: their keys are gone with it. */
  readonly lost: Set<number>;
}

/** 2,000 keys over 64 slots, then the first master and its replica die: the take-over scenario with data. */
export async function loseFirstMasterWithData(cluster: TestCluster): Promise<LostMaster> {
  const written = await seedData(
    cluster,
    Array.from({ length: 64 }, (_, i) => i * 256),
    2000,
  );
  const [victim] = cluster.masters as [TestNode];
  const lost = new Set(written.map((w) => keySlot(w.key)).filter((s) => s <= 5460));
  const alive = await killMasterAndReplicas(cluster, victim);
  return { alive, written, lost };
}
