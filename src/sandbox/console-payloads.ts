import { randomUUID } from 'node:crypto';

/** What Slack sends for `/redis <text>`: form fields over HTTP, the same fields as JSON in Socket Mode. */
export function slashPayload(
  channel: string,
  user: string,
  text: string,
  responseUrl: string,
): Record<string, string> {
  return {
    team_id: 'T1',
    channel_id: channel,
    channel_name: 'incidents',
    user_id: user,
    user_name: user,
    command: '/redis',
    text,
    api_app_id: 'A1',
    response_url: responseUrl,
    trigger_id: randomUUID(),
  };
}

export interface ClickSpec {
  readonly channel: string;
  readonly user: string;
  readonly actionId: string;
  readonly value: string;
  readonly messageTs: string;
  readonly responseUrl: string;
}

/** A button click (`block_actions`); each click has its own action_ts and trigger_id, a redelivery keeps them. */
export function clickPayload(click: ClickSpec): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: click.user, username: click.user, team_id: 'T1' },
    api_app_id: 'A1',
    team: { id: 'T1' },
    container: { type: 'message', message_ts: click.messageTs, channel_id: click.channel },
    trigger_id: randomUUID(),
    channel: { id: click.channel },
    message: { ts: click.messageTs, text: '' },
    response_url: click.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: click.actionId,
        block_id: 'b',
        value: click.value,
        action_ts: `${(Date.now() / 1000).toFixed(6)}`,
      },
    ],
  };
}

/** The Events API callback for a user opening the app's Home tab. */
export function homeOpenedPayload(user: string): Record<string, unknown> {
  const now = Date.now() / 1000;
  return {
    token: 'unused',
    team_id: 'T1',
    api_app_id: 'A1',
    type: 'event_callback',
    event_id: `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
    event_time: Math.floor(now),
    event: { type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab: 'home', event_ts: `${now}` },
  };
}
