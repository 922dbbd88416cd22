import { randomBytes } from 'node:crypto';
import { freePort } from '../test/support/free-port.js';
import { type RespServer, startRespServer } from '../test/support/resp-server.js';

export interface EmulatedCluster {
  readonly seeds: string[];
  readonly servers: readonly RespServer[];
  close(): Promise<void>;
}

const CRLF = '\r\n';

/**
 * A healthy cluster of `size` nodes (`masters` of them own the slots, the rest are one replica each in
 * turn) played by RESP test servers: every node answers CLUSTER NODES with the same view (itself `myself`),
 * CLUSTER INFO, CONFIG GET and INFO as a real one would. No gossip, no data: what a probe reads, for
 * measuring the bot, not Redis.
 */
export async function startEmulatedCluster(size: number, masters: number): Promise<EmulatedCluster> {
  const ports: number[] = [];
  for (let i = 0; i < size; i++) ports.push(await freePort());
  const ids = ports.map(() => randomBytes(20).toString('hex'));
  const masterOf = (i: number) => (i < masters ? null : i % masters);
  const slots = (i: number) =>
    i < masters ? `${Math.floor((i * 16384) / masters)}-${Math.floor(((i + 1) * 16384) / masters) - 1}` : '';
  const line = (i: number, self: boolean) => {
    const master = masterOf(i);
    const flags = `${self ? 'myself,' : ''}${master === null ? 'master' : 'slave'}`;
    const epoch = (master ?? i) + 1;
    return `${ids[i]} 127.0.0.1:${ports[i]}@${(ports[i] ?? 0) + 10000} ${flags} ${master === null ? '-' : ids[master]} 0 1700000000000 ${epoch} connected ${slots(i)}`.trimEnd();
  };
  const view = (self: number) => `${ports.map((_, i) => line(i, i === self)).join('\n')}\n`;
  const clusterInfo = (self: number) =>
    [
      'cluster_state:ok',
      'cluster_slots_assigned:16384',
      'cluster_slots_ok:16384',
      'cluster_slots_pfail:0',
      'cluster_slots_fail:0',
      `cluster_known_nodes:${size}`,
      `cluster_size:${masters}`,
      `cluster_current_epoch:${masters}`,
      `cluster_my_epoch:${(masterOf(self) ?? self) + 1}`,
      '',
    ].join(CRLF);
  const info = (self: number) => {
    const master = masterOf(self);
    const replication =
      master === null
        ? ['role:master', 'connected_slaves:1', 'master_repl_offset:100']
        : [
            'role:slave',
            'master_host:127.0.0.1',
            `master_port:${ports[master]}`,
            'master_link_status:up',
            'slave_repl_offset:100',
          ];
    return [
      '# Server',
      'redis_version:7.0.15',
      'redis_mode:cluster',
      `tcp_port:${ports[self]}`,
      '# Replication',
      ...replication,
      '# Cluster',
      'cluster_enabled:1',
      '# Keyspace',
      '',
    ].join(CRLF);
  };
  const servers = await Promise.all(
    ports.map((port, i) =>
      startRespServer({
        port,
        clusterNodes: { kind: 'text', text: view(i) },
        clusterInfo: clusterInfo(i),
        info: info(i),
      }),
    ),
  );
  return {
    seeds: servers.slice(0, 3).map((s) => s.address),
    servers,
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
