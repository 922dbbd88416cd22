import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SocketConnection } from '../../src/slack/socket-connection.js';
import { waitFor } from '../support/wait.js';

type Client = ConstructorParameters<typeof SocketConnection>[0];

/** The two calls SocketConnection makes on Socket Mode's client, played by hand. */
class ScriptedClient extends EventEmitter {
  starts = 0;
  disconnects = 0;
  private finishStart: (() => void) | undefined;

  start(): Promise<void> {
    this.starts++;
    // The first connection fails (Slack down at start); the reconnect hangs until the test lets it finish.
    if (this.starts === 1) return Promise.reject(new Error('apps.connections.open: network down'));
    return new Promise((resolve) => {
      this.finishStart = resolve;
    });
  }

  finish(): void {
    this.finishStart?.();
  }

  disconnect(): Promise<void> {
    this.disconnects++;
    // stop()'s own close works; closing the socket that connected after stop() fails.
    return this.disconnects === 1 ? Promise.resolve() : Promise.reject(new Error('socket already gone'));
  }
}

describe('SocketConnection', () => {
  it('logs, never floats, a failed close of a socket that connected after stop() began', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const lines: { msg?: string }[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const client = new ScriptedClient();
    const connection = new SocketConnection(client as unknown as Client, log, { minDelayMs: 1 });
    try {
      await connection.start();
      await waitFor('the reconnect attempt', () => client.starts === 2);
      await connection.stop();
      client.finish();
      await waitFor('the close after stop', () => client.disconnects === 2);
      // Node reports an unhandled rejection once the microtasks drain: a macrotask later it would be here.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    expect(rejections).toEqual([]);
    expect(lines.map((l) => l.msg)).toContain('slack socket close after stop failed');
    expect(client.starts).toBe(2);
  });
});
