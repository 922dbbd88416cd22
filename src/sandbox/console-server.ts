import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileFromUpload, parseBody, readBody } from './console-http.js';
import { CONSOLE_HTML } from './console-page.js';
import { clickPayload, homeOpenedPayload, slashPayload } from './console-payloads.js';
import { type Delivery, type EnvelopeType, SocketModeServer } from './console-socket.js';
import { ConsoleState } from './console-state.js';
import { answerWebApi, channelOf, type WebApiContext } from './console-web-api.js';
import { errorBody, type FaultRule, SlackFaults } from './slack-faults.js';
import { SlackLimits } from './slack-limits.js';

const FORM = 'application/x-www-form-urlencoded';

/** What the bot answered: the HTTP status, or in Socket Mode 200 once acked (504 when never acked). */
export interface Sent {
  readonly status: number;
  readonly delivery?: Delivery;
}

/** One request the bot made to "Slack" (Web API call, response_url post or file upload). */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Record<string, unknown>;
  readonly at: number;
  /** The HTTP status answered; 0 while the request is held open. */
  readonly status: number;
  /** The `error` answered, or null when the answer was ok. */
  readonly error: string | null;
}

type Recording = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/** Which of the recorded Web API calls `calls()` returns. */
export interface CallsFilter {
  /** true: answered 200 with ok:true; false: any other answer (or none yet). */
  readonly ok?: boolean;
  /** Only calls recorded at or after this time (ms since the epoch, like `at`). */
  readonly sinceMs?: number;
}

export interface ConsoleOptions {
  /** How slash commands, clicks and events reach the bot. @defaultValue 'http' */
  readonly mode?: 'http' | 'socket';
  readonly signingSecret: string;
  /** Where the bot listens: http://127.0.0.1:PORT */
  readonly botUrl: () => string;
  readonly channel: string;
  readonly users: readonly { id: string; name: string }[];
  /** Slack user groups by id (S…) → member user ids, served by usergroups.users.list. */
  readonly userGroups?: Readonly<Record<string, readonly string[]>>;
  /** Channel names (`#incidents`) → the channel IDs Slack answers with; only chat.postMessage accepts a name. */
  readonly channelNames?: Readonly<Record<string, string>>;
  /** Sandbox actions that break the cluster on purpose; name → run. */
  readonly breakers?: Readonly<Record<string, () => Promise<string>>>;
  /** Sandbox ways for Slack to behave; name → the fault rules it sets after clearing the others. */
  readonly slackModes?: Readonly<Record<string, readonly FaultRule[]>>;
  /** Answers over Slack's rate limits with HTTP 429 (see SlackLimits). @defaultValue true */
  readonly limits?: boolean;
}

/**
 * Plays Slack for the bot on this machine: the Web API methods it calls, response_url, and a page that sends
 * correctly signed slash commands and button clicks as any of a few users and shows what the bot posted.
 */
export class SlackConsole {
  readonly state = new ConsoleState();
  /** Every call the bot made, in order (what tests assert on). */
  readonly requests: RecordedRequest[] = [];
  /** Slack's Socket Mode side: apps.connections.open and the sockets it hands out. */
  readonly socketMode = new SocketModeServer(() => this.url);
  /** Web API faults set at runtime: hangs, 429s, errors. */
  readonly faults = new SlackFaults();
  private readonly limits: SlackLimits | null;
  private readonly recorded = new WeakMap<ServerResponse, Recording>();
  private slackMode: string | null;
  private server: Server | undefined;
  port = 0;

  constructor(private readonly options: ConsoleOptions) {
    this.limits = options.limits === false ? null : new SlackLimits();
    this.slackMode = Object.keys(options.slackModes ?? {})[0] ?? null;
  }

  /** Empties the channel and forgets what was recorded (the sandbox's reset). */
  clear(): void {
    this.state.clear();
    this.requests.length = 0;
  }

  /** The recorded Web API calls of `method`, in order. */
  calls(method: string, filter: CallsFilter = {}): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        r.path === `/api/${method}` &&
        (filter.ok === undefined || (r.status === 200 && r.error === null) === filter.ok) &&
        (filter.sinceMs === undefined || r.at >= filter.sinceMs),
    );
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) =>
        this.json(res, 500, { ok: false, error: String(error) }),
      );
    });
    this.server.on('upgrade', (req, socket, head: Buffer) => this.socketMode.upgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', () => resolve()));
    const address = this.server?.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    this.faults.release();
    this.socketMode.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Answers JSON, and records the status and `error` when the request is recorded. */
  private json(
    res: ServerResponse,
    status: number,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): void {
    const record = this.recorded.get(res);
    if (record) {
      record.status = status;
      record.error = body.ok === false ? String(body.error) : null;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private sign(body: string, contentType: string): Record<string, string> {
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v0=${createHmac('sha256', this.options.signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    return {
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
      'content-type': contentType,
    };
  }

  /** HTTP mode: a signed POST to the bot's /slack/events. Socket Mode: an envelope on its socket. */
  private async toBot(type: EnvelopeType, payload: Record<string, unknown>): Promise<Sent> {
    if (this.options.mode === 'socket') {
      const delivery = await this.socketMode.deliver(type, payload);
      return { status: delivery.acked ? 200 : 504, delivery };
    }
    const [body, contentType] =
      type === 'events_api'
        ? [JSON.stringify(payload), 'application/json']
        : type === 'interactive'
          ? [new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), FORM]
          : [new URLSearchParams(payload as Record<string, string>).toString(), FORM];
    const response = await fetch(`${this.options.botUrl()}/slack/events`, {
      method: 'POST',
      headers: this.sign(body, contentType),
      body,
    });
    return { status: response.status };
  }

  /** Sends `/redis <text>` as `user`, like Slack does; an ack that carries a message shows it. */
  async slash(user: string, text: string, responseUrl?: string): Promise<Sent> {
    this.state.add({
      channel: this.options.channel,
      threadTs: null,
      text: `/redis ${text}`,
      blocks: [],
      user,
      ephemeralTo: null,
    });
    const url = responseUrl ?? `http://127.0.0.1:${this.port}/respond/${user}/${randomUUID()}`;
    const sent = await this.toBot('slash_commands', slashPayload(this.options.channel, user, text, url));
    const answer = sent.delivery?.payload as { text?: string; blocks?: unknown[]; response_type?: string };
    if (answer?.text || answer?.blocks)
      this.state.add({
        channel: this.options.channel,
        threadTs: null,
        text: answer.text ?? '',
        blocks: answer.blocks ?? [],
        user: 'slotwatch',
        ephemeralTo: answer.response_type === 'in_channel' ? null : user,
      });
    return sent;
  }

  /** Clicks a button of a message as `user`. */
  async click(
    user: string,
    actionId: string,
    value: string,
    messageTs: string,
    responseUrl?: string,
  ): Promise<Sent> {
    const url = responseUrl ?? `http://127.0.0.1:${this.port}/respond/${user}/${randomUUID()}`;
    return this.toBot(
      'interactive',
      clickPayload({ channel: this.options.channel, user, actionId, value, messageTs, responseUrl: url }),
    );
  }

  /** `user` opens the app's Home tab (an Events API event); the bot answers with views.publish. */
  async home(user: string): Promise<Sent> {
    return this.toBot('events_api', homeOpenedPayload(user));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    const bytes = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    const raw = bytes.toString('utf8');
    if (/^\/(api|respond|upload)\//.test(url.pathname)) {
      const body = url.pathname.startsWith('/upload/') ? { bytes: bytes.length } : parseBody(req, raw);
      const record: Recording = {
        method: req.method ?? 'GET',
        path: url.pathname,
        headers: req.headers,
        body,
        at: Date.now(),
        status: 0,
        error: null,
      };
      this.requests.push(record);
      this.recorded.set(res, record);
    }
    if (url.pathname === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(CONSOLE_HTML);
      return;
    }
    if (url.pathname === '/console/state') {
      return this.json(res, 200, {
        users: this.options.users,
        channel: this.options.channel,
        breakers: Object.keys(this.options.breakers ?? {}),
        messages: this.state.messages,
        homes: Object.fromEntries(this.state.homes),
        mode: this.options.mode ?? 'http',
        connections: this.socketMode.connections,
        slackModes: Object.keys(this.options.slackModes ?? {}),
        slackMode: this.slackMode,
      });
    }
    if (url.pathname === '/console/slash' && req.method === 'POST') {
      const { user, text } = JSON.parse(raw) as { user: string; text: string };
      return this.json(res, 200, { status: (await this.slash(user, text)).status });
    }
    if (url.pathname === '/console/click' && req.method === 'POST') {
      const { user, actionId, value, ts } = JSON.parse(raw) as {
        user: string;
        actionId: string;
        value: string;
        ts: string;
      };
      return this.json(res, 200, { status: (await this.click(user, actionId, value, ts)).status });
    }
    if (url.pathname === '/console/home' && req.method === 'POST') {
      const { user } = JSON.parse(raw) as { user: string };
      return this.json(res, 200, { status: (await this.home(user)).status });
    }
    if (url.pathname.startsWith('/console/break/') && req.method === 'POST') {
      const breaker =
        this.options.breakers?.[decodeURIComponent(url.pathname.slice('/console/break/'.length))];
      if (!breaker) return this.json(res, 404, { error: 'no such sandbox action' });
      return this.json(res, 200, { done: await breaker() });
    }
    if (url.pathname.startsWith('/console/slack/') && req.method === 'POST') {
      const mode = decodeURIComponent(url.pathname.slice('/console/slack/'.length));
      const rules = this.options.slackModes?.[mode];
      if (!rules) return this.json(res, 404, { error: 'no such Slack mode' });
      this.faults.clear();
      for (const rule of rules) this.faults.set(rule);
      this.slackMode = mode;
      return this.json(res, 200, { done: `Slack: ${mode}` });
    }
    if (url.pathname.startsWith('/files/')) {
      const file = this.state.files.get(url.pathname.slice('/files/'.length));
      if (!file) return this.json(res, 404, { error: 'no file' });
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(file);
      return;
    }
    if (url.pathname.startsWith('/upload/') && req.method === 'POST') {
      this.state.files.set(url.pathname.slice('/upload/'.length), fileFromUpload(req, bytes));
      const record = this.recorded.get(res);
      if (record) record.status = 200;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK');
      return;
    }
    if (url.pathname.startsWith('/respond/')) {
      const [, , user = ''] = url.pathname.split('/');
      const body = parseBody(req, raw) as { response_type?: string; text?: string; blocks?: unknown[] };
      this.state.add({
        channel: this.options.channel,
        threadTs: null,
        text: body.text ?? '',
        blocks: body.blocks ?? [],
        user: 'slotwatch',
        ephemeralTo: body.response_type === 'in_channel' ? null : user,
      });
      return this.json(res, 200, { ok: true });
    }
    if (url.pathname.startsWith('/api/')) return this.webApi(req, res, url.pathname.slice(5), raw);
    this.json(res, 404, { error: `no route ${url.pathname}` });
  }

  /** A Web API call: the fault set for it, else Slack's rate limits, else the method's answer. */
  private async webApi(req: IncomingMessage, res: ServerResponse, method: string, raw: string) {
    const body = parseBody(req, raw);
    const fault = this.faults.take(method, body);
    if (fault?.kind === 'hang' && !(await this.faults.hold(res, fault.ms))) return;
    if (fault?.kind === 'rate-limited') return this.rateLimited(res, fault.retryAfterSec);
    if (fault?.kind === 'error') return this.json(res, 200, errorBody(fault.error));
    if (method === 'apps.connections.open') {
      const opened = this.socketMode.open(req.headers.authorization);
      return this.json(res, opened.status, opened.body);
    }
    const retryAfterSec = this.limits?.take(method, channelOf(body, this.webApiContext())) ?? 0;
    if (retryAfterSec > 0) return this.rateLimited(res, retryAfterSec);
    this.json(res, 200, this.api(method, body));
  }

  private rateLimited(res: ServerResponse, retryAfterSec: number): void {
    this.json(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfterSec) });
  }

  private webApiContext(): WebApiContext {
    return {
      state: this.state,
      channel: this.options.channel,
      baseUrl: `http://127.0.0.1:${this.port}`,
      ...(this.options.channelNames ? { channelNames: this.options.channelNames } : {}),
      ...(this.options.userGroups ? { userGroups: this.options.userGroups } : {}),
    };
  }

  /** The Web API methods the bot calls, answered like Slack does. */
  private api(method: string, body: Record<string, unknown>): Record<string, unknown> {
    return answerWebApi(method, body, this.webApiContext());
  }
}
