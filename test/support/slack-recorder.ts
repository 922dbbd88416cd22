import { createServer, type Server } from 'node:http';
import { waitFor } from './wait.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** JSON or form body, parsed. */
  readonly body: Record<string, unknown>;
  readonly at: number;
}

/** Plays Slack's side for the bot's outgoing calls: Web API methods under /api/ and response_url posts. */
export class SlackRecorder {
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  port = 0;

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/respond/${id}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => {
        raw += chunk.toString();
      });
      req.on('end', () => {
        const type = req.headers['content-type'] ?? '';
        const body = type.includes('json')
          ? (JSON.parse(raw || '{}') as Record<string, unknown>)
          : Object.fromEntries(new URLSearchParams(raw));
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        this.requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, at: Date.now() });
        res.writeHead(200, { 'content-type': 'application/json' });
        if (path === '/api/auth.test') {
          res.end(
            JSON.stringify({ ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1', user: 'slotwatch' }),
          );
        } else if (path.startsWith('/api/')) {
          res.end(JSON.stringify({ ok: true, ts: `${Date.now() / 1000}`, channel: body.channel ?? 'C1' }));
        } else {
          res.end(JSON.stringify({ ok: true }));
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server?.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  responses(id: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === `/respond/${id}`);
  }

  async nextResponse(id: string, timeoutMs = 20_000): Promise<RecordedRequest> {
    return waitFor(`a response_url post for ${id}`, () => this.responses(id)[0], {
      timeoutMs,
      intervalMs: 20,
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
