import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

/** The kinds of Socket Mode envelopes the console sends. */
export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface Envelope {
  readonly envelope_id: string;
  readonly type: EnvelopeType;
  readonly payload: Record<string, unknown>;
  readonly accepts_response_payload: boolean;
  readonly retry_attempt: number;
  readonly retry_reason: string;
}

/** How one delivery ended: acked (with the ack's payload) within the deadline, or not. */
export interface Delivery {
  readonly envelopeId: string;
  readonly acked: boolean;
  readonly ackMs: number;
  readonly payload?: Record<string, unknown>;
  /** How many times it was sent (1 + redeliveries). */
  readonly attempts: number;
}

export interface DeliverOptions {
  /** Sends this envelope id again, as a redelivery (`retry_attempt` from 1). */
  readonly envelopeId?: string;
  /** Redeliveries after a missing ack, as Slack retries. @defaultValue 2 */
  readonly retries?: number;
}

/** Slack answers with a new single-use URL per apps.connections.open. */
interface Ticket {
  readonly token: string;
}

/**
 * Slack's Socket Mode side: apps.connections.open hands out a local ws:// URL, the socket gets `hello`, then
 * envelopes that must be acked (`{envelope_id, payload?}`) within `ackTimeoutMs`; unacked ones are sent again
 * with `retry_attempt`. Tests can ask for a refresh (`disconnect`), drop sockets, or refuse new connections.
 */
export class SocketModeServer {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Map<string, Ticket>();
  private readonly sockets: WebSocket[] = [];
  /** Each accepted socket's number, in order of connection. */
  private readonly ids = new WeakMap<WebSocket, number>();
  private readonly waiting = new Map<string, (payload: Record<string, unknown>) => void>();
  private next = 0;
  /** Every apps.connections.open call, answered or refused. */
  readonly opens: { readonly at: number; readonly refused: boolean }[] = [];
  /** Every envelope sent and every ack received, in order. */
  readonly log: (
    | { readonly kind: 'sent'; readonly envelope: Envelope; readonly connection: number; readonly at: number }
    | { readonly kind: 'ack'; readonly envelopeId: string; readonly at: number }
  )[] = [];
  /** apps.connections.open calls still to refuse with HTTP 503 (Infinity: until reset). */
  refuseOpens = 0;
  /** App-level tokens answered with `invalid_auth` (revoked). */
  readonly revoked = new Set<string>();

  constructor(
    private readonly baseUrl: () => string,
    private readonly ackTimeoutMs = 3000,
  ) {}

  /** Open sockets that got their `hello`. */
  get connections(): number {
    return this.sockets.length;
  }

  /** apps.connections.open: a fresh URL for an app-level token, else Slack's error. */
  open(authorization: string | undefined): { status: number; body: Record<string, unknown> } {
    const refused = this.refuseOpens > 0;
    this.opens.push({ at: Date.now(), refused });
    if (refused) {
      this.refuseOpens--;
      return { status: 503, body: { ok: false, error: 'service_unavailable' } };
    }
    const token = /^Bearer (xapp-\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return { status: 200, body: { ok: false, error: 'not_allowed_token_type' } };
    if (this.revoked.has(token)) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    const ticket = randomUUID();
    this.tickets.set(ticket, { token });
    return {
      status: 200,
      body: { ok: true, url: `${this.baseUrl().replace(/^http/, 'ws')}socket/${ticket}` },
    };
  }

  /** The HTTP server's `upgrade` event: a ticket from open() becomes a socket, once. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = /^\/socket\/([\w-]+)$/.exec(new URL(req.url ?? '/', 'http://console').pathname)?.[1];
    if (!ticket || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { envelope_id?: string; payload?: Record<string, unknown> };
      if (!message.envelope_id) return;
      this.log.push({ kind: 'ack', envelopeId: message.envelope_id, at: Date.now() });
      this.waiting.get(message.envelope_id)?.(message.payload ?? {});
    });
    ws.on('close', () => this.forget(ws));
    ws.on('error', () => ws.terminate());
    this.ids.set(ws, this.opens.length);
    this.sockets.push(ws);
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.length,
        debug_info: { host: 'slotwatch-console', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: 'A1' },
      }),
    );
  }

  /**
   * Sends an envelope to one open socket (round robin, as Slack spreads events over an app's connections) and
   * waits for its ack; without one, waits for a socket and sends it again with the next `retry_attempt`.
   */
  async deliver(type: EnvelopeType, payload: Record<string, unknown>, options: DeliverOptions = {}) {
    const envelopeId = options.envelopeId ?? randomUUID();
    const retries = options.retries ?? 2;
    const began = Date.now();
    // A redelivery of an earlier envelope goes on counting its attempts.
    const first = options.envelopeId ? 1 : 0;
    for (let n = 0; ; n++) {
      const attempt = first + n;
      const acked = await this.once({
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: type === 'slash_commands',
        retry_attempt: attempt,
        retry_reason: attempt === 0 ? '' : 'timeout',
      });
      if (acked || n >= retries)
        return {
          envelopeId,
          acked: acked !== null,
          ackMs: Date.now() - began,
          attempts: n + 1,
          ...(acked ? { payload: acked } : {}),
        } satisfies Delivery;
    }
  }

  /** One attempt: the ack's payload, or null when no socket acked within the deadline. */
  private async once(envelope: Envelope): Promise<Record<string, unknown> | null> {
    const deadline = Date.now() + this.ackTimeoutMs;
    while (this.sockets.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const socket = this.sockets[this.next++ % Math.max(1, this.sockets.length)];
    if (!socket) return null;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(envelope.envelope_id);
        resolve(null);
      }, deadline - Date.now());
      this.waiting.set(envelope.envelope_id, (payload) => {
        clearTimeout(timer);
        this.waiting.delete(envelope.envelope_id);
        resolve(payload);
      });
      this.log.push({ kind: 'sent', envelope, connection: this.ids.get(socket) ?? 0, at: Date.now() });
      socket.send(JSON.stringify(envelope));
    });
  }

  /** Asks every connection to reconnect, as Slack does before recycling a server. */
  refresh(reason = 'refresh_requested'): void {
    for (const ws of this.sockets)
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'slotwatch-console' } }));
  }

  /** Cuts every connection without a close handshake (a network failure, a crashed Slack server). */
  drop(): void {
    for (const ws of [...this.sockets]) {
      this.forget(ws);
      ws.terminate();
    }
  }

  private forget(ws: WebSocket): void {
    const at = this.sockets.indexOf(ws);
    if (at >= 0) this.sockets.splice(at, 1);
  }

  close(): void {
    this.drop();
    this.wss.close();
  }
}
