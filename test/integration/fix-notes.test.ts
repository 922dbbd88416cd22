import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { hostileId, type RespServer, startRespServer } from '../support/resp-server.js';

const MASTER = hostileId(1);
const REPLICA = hostileId(2);
let servers: RespServer[] = [];

/** A master owning every slot and its replica, which alone still shows slot 42 migrating (stale state). */
beforeAll(async () => {
  const [master, replica] = [await freePort(), await freePort()];
  const lines = (self: 'master' | 'replica') =>
    [
      `${MASTER} 127.0.0.1:${master}@${master + 10000} ${self === 'master' ? 'myself,' : ''}master - 0 0 1 connected 0-16383`,
      `${REPLICA} 127.0.0.1:${replica}@${replica + 10000} ${self === 'replica' ? 'myself,' : ''}slave ${MASTER} 0 0 1 connected${self === 'replica' ? ` [42->-${MASTER}]` : ''}`,
      '',
    ].join('\n');
  servers = await Promise.all([
    startRespServer({ port: master, clusterNodes: { kind: 'text', text: lines('master') } }),
    startRespServer({ port: replica, clusterNodes: { kind: 'text', text: lines('replica') } }),
  ]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('slotwatch fix without a matching option', () => {
  it('exits 2 naming the options and says on stderr which slot needs a person', async () => {
    const seeds = servers.map((s) => s.address).join(',');

    const run = await promisify(execFile)(process.execPath, [
      'dist/cli/bin.js',
      'fix',
      seeds,
      '--option',
      'close-open-slots',
      '--yes',
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );

    expect(run.code).toBe(2);
    const [reason, ...notes] = run.stderr.trim().split('\n');
    expect(reason).toMatch(
      /^slotwatch: no repair option "close-open-slots" for the current state; options now: /,
    );
    expect(notes).toContain(
      'Note: slot 42 needs a person: only replicas show it open (stale state they clear when their master does).',
    );
  });
});
