import type { Topology } from './topology.js';

/** `127.0.0.1:7000 (3f2a9c1b)`: an address people recognise and an id prefix that is unambiguous. */
export function nodeLabel(topology: Topology, id: string | null): string {
  if (id === null) return 'nobody';
  const node = topology.nodes.get(id);
  return `${node?.address ?? 'no address'} (${id.slice(0, 8)})`;
}
