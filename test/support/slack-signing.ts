import { createHmac } from 'node:crypto';

/** Slack's request signature: v0=HMAC-SHA256(secret, `v0:{timestamp}:{body}`). */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SlashCommand {
  readonly text: string;
  readonly user?: string;
  readonly channel?: string;
  readonly responseUrl: string;
}

export function slashCommandBody(command: SlashCommand): string {
  return new URLSearchParams({
    token: 'legacy-unused',
    team_id: 'T1',
    team_domain: 'acme',
    channel_id: command.channel ?? 'C1',
    channel_name: 'incidents',
    user_id: command.user ?? 'U1',
    user_name: 'oncall',
    command: '/redis',
    text: command.text,
    api_app_id: 'A1',
    is_enterprise_install: 'false',
    response_url: command.responseUrl,
    trigger_id: '1.2.3',
  }).toString();
}

/** POSTs a body to the bot's /slack/events, signed (or not, or badly) like Slack does. */
export async function postToSlack(
  port: number,
  body: string,
  options: { secret?: string; timestamp?: number; signature?: string | null } = {},
): Promise<{ status: number; ms: number; text: string }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.signature !== null) {
    headers['x-slack-request-timestamp'] = String(timestamp);
    headers['x-slack-signature'] = options.signature ?? slackSignature(options.secret ?? '', timestamp, body);
  }
  const began = Date.now();
  const response = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers, body });
  return { status: response.status, ms: Date.now() - began, text: await response.text() };
}

export interface ButtonClick {
  readonly actionId: string;
  readonly value: string;
  readonly user: string;
  readonly responseUrl: string;
  readonly channel?: string;
  readonly messageTs?: string;
}

let clicks = 0;

/** A block_actions payload as Slack sends it for a button click. */
export function buttonClickBody(click: ButtonClick): string {
  const channel = click.channel ?? 'C1';
  const payload = {
    type: 'block_actions',
    user: { id: click.user, username: click.user.toLowerCase(), team_id: 'T1' },
    api_app_id: 'A1',
    token: 'legacy-unused',
    team: { id: 'T1', domain: 'acme' },
    container: {
      type: 'message',
      message_ts: click.messageTs ?? '1.000',
      channel_id: channel,
      is_ephemeral: false,
    },
    trigger_id: '1.2.3',
    channel: { id: channel, name: 'incidents' },
    message: { type: 'message', ts: click.messageTs ?? '1.000', text: '' },
    response_url: click.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: click.actionId,
        block_id: 'b1',
        value: click.value,
        // Slack's action_ts has microseconds: two clicks never share one (replays do).
        action_ts: `${(Date.now() / 1000).toFixed(3)}${String(++clicks % 1000).padStart(3, '0')}`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
