import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CONSOLE_HTML } from './console-page.js';
import { clickPayload, homeOpenedPayload, slashPayload } from './console-payloads.js';
import { type Delivery, type EnvelopeType, SocketModeServer } from './console-socket.js';
import { ConsoleState } from './console-state.js';

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
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The Web API client uploads as multipart/form-data: keep the file part's bytes only. */
function fileFromUpload(req: IncomingMessage, bytes: Buffer): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) return bytes;
  const start = bytes.indexOf(Buffer.from('\r\n\r\n'), bytes.indexOf(Buffer.from(`--${marker}`)));
  const end = bytes.indexOf(Buffer.from(`\r\n--${marker}`), start + 4);
  return start < 0 ? bytes : bytes.subarray(start + 4, end < 0 ? bytes.length : end);
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

function parseBody(req: IncomingMessage, raw: string): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (type.includes('json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const form = Object.fromEntries(new URLSearchParams(raw));
  for (const key of ['blocks', 'attachments'])
    if (typeof form[key] === 'string')
      (form as Record<string, unknown>)[key] = JSON.parse(form[key] as string);
  return form;
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

  /** Empties the channel and forgets what was recorded (the sandbox's reset). */
  clear(): void {
    this.state.clear();
    this.requests.length = 0;
  }
  private server: Server | undefined;
  port = 0;

  constructor(private readonly options: ConsoleOptions) {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => json(res, 500, { ok: false, error: String(error) }));
    });
    this.server.on('upgrade', (req, socket, head: Buffer) => this.socketMode.upgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', () => resolve()));
    const address = this.server?.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    this.socketMode.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
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
      this.requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        headers: req.headers,
        body,
        at: Date.now(),
      });
    }
    if (url.pathname === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(CONSOLE_HTML);
      return;
    }
    if (url.pathname === '/console/state') {
      return json(res, 200, {
        users: this.options.users,
        channel: this.options.channel,
        breakers: Object.keys(this.options.breakers ?? {}),
        messages: this.state.messages,
        homes: Object.fromEntries(this.state.homes),
        mode: this.options.mode ?? 'http',
        connections: this.socketMode.connections,
      });
    }
    if (url.pathname === '/console/slash' && req.method === 'POST') {
      const { user, text } = JSON.parse(raw) as { user: string; text: string };
      return json(res, 200, { status: (await this.slash(user, text)).status });
    }
    if (url.pathname === '/console/click' && req.method === 'POST') {
      const { user, actionId, value, ts } = JSON.parse(raw) as {
        user: string;
        actionId: string;
        value: string;
        ts: string;
      };
      return json(res, 200, { status: (await this.click(user, actionId, value, ts)).status });
    }
    if (url.pathname === '/console/home' && req.method === 'POST') {
      const { user } = JSON.parse(raw) as { user: string };
      return json(res, 200, { status: (await this.home(user)).status });
    }
    if (url.pathname.startsWith('/console/break/') && req.method === 'POST') {
      const breaker =
        this.options.breakers?.[decodeURIComponent(url.pathname.slice('/console/break/'.length))];
      if (!breaker) return json(res, 404, { error: 'no such sandbox action' });
      return json(res, 200, { done: await breaker() });
    }
    if (url.pathname.startsWith('/files/')) {
      const file = this.state.files.get(url.pathname.slice('/files/'.length));
      if (!file) return json(res, 404, { error: 'no file' });
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(file);
      return;
    }
    if (url.pathname.startsWith('/upload/') && req.method === 'POST') {
      this.state.files.set(url.pathname.slice('/upload/'.length), fileFromUpload(req, bytes));
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
      return json(res, 200, { ok: true });
    }
    if (url.pathname === '/api/apps.connections.open') {
      const opened = this.socketMode.open(req.headers.authorization);
      return json(res, opened.status, opened.body);
    }
    if (url.pathname.startsWith('/api/'))
      return json(res, 200, this.api(url.pathname.slice(5), parseBody(req, raw)));
    json(res, 404, { error: `no route ${url.pathname}` });
  }

  /** The Web API methods the bot calls, answered like Slack does. */
  private api(method: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1', user: 'slotwatch' };
      case 'chat.postMessage': {
        const named = String(body.channel ?? this.options.channel);
        const channel = named.startsWith('#') ? this.options.channelNames?.[named] : named;
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const message = this.state.add({
          channel,
          threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : null,
          text: String(body.text ?? ''),
          blocks: (body.blocks as unknown[]) ?? [],
          user: 'slotwatch',
          ephemeralTo: null,
        });
        return { ok: true, channel: message.channel, ts: message.ts };
      }
      case 'chat.update': {
        if (String(body.channel).startsWith('#')) return { ok: false, error: 'channel_not_found' };
        const updated = this.state.update(String(body.channel), String(body.ts), {
          ...(typeof body.text === 'string' ? { text: body.text } : {}),
          ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
        });
        return updated ? { ok: true, ts: body.ts } : { ok: false, error: 'message_not_found' };
      }
      case 'views.publish': {
        if (typeof body.user_id !== 'string') return { ok: false, error: 'invalid_arguments' };
        const view = typeof body.view === 'string' ? JSON.parse(body.view) : body.view;
        this.state.homes.set(body.user_id, view);
        return { ok: true, view: { id: 'V1', ...(view as object) } };
      }
      case 'usergroups.users.list': {
        const members = this.options.userGroups?.[String(body.usergroup)];
        return members ? { ok: true, users: [...members] } : { ok: false, error: 'no_such_subteam' };
      }
      case 'files.getUploadURLExternal': {
        const id = `F${randomUUID().slice(0, 8).toUpperCase()}`;
        return { ok: true, file_id: id, upload_url: `http://127.0.0.1:${this.port}/upload/${id}` };
      }
      case 'files.completeUploadExternal': {
        if (String(body.channel_id ?? '').startsWith('#')) return { ok: false, error: 'invalid_channel' };
        const files = (typeof body.files === 'string' ? JSON.parse(body.files) : body.files) as {
          id: string;
          title?: string;
        }[];
        this.state.add({
          channel: String(body.channel_id ?? this.options.channel),
          threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : null,
          text: files.map((f) => f.title ?? f.id).join(', '),
          blocks: [],
          user: 'slotwatch',
          ephemeralTo: null,
          files: files.map((f) => f.id),
        });
        return { ok: true, files: files.map((f) => ({ id: f.id })) };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}
