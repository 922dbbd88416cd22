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
