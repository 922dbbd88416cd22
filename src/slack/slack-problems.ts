import type { Logger } from 'pino';

/** Slack errors that no retry fixes; each with what a person has to do. */
const FIXES: Readonly<Record<string, string>> = {
  not_in_channel: 'invite the bot to the channel: /invite @slotwatch in {channel}',
  channel_not_found:
    'the channel does not exist or the bot cannot see it: check the cluster channel / ALERT_CHANNEL ({channel}) and invite the bot',
  is_archived: 'the channel {channel} is archived: unarchive it or configure another channel',
  invalid_auth: 'the bot token is not valid: set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…)',
  not_authed: 'no bot token was sent: set SLACK_BOT_TOKEN',
  account_inactive: 'the bot token belongs to a deactivated user or an uninstalled app: reinstall the app',
  token_revoked: 'the bot token was revoked: reinstall the app and set SLACK_BOT_TOKEN again',
  token_expired: 'the bot token expired: reinstall the app and set SLACK_BOT_TOKEN again',
  missing_scope: 'add the {needed} scope to the app (OAuth & Permissions), then reinstall it',
  restricted_action: 'a workspace admin restricts who may post in {channel}: allow the bot',
  ekm_access_denied: 'the workspace key management denied the call: ask a workspace admin',
  invalid_blocks: 'Slack refused the message layout (a Slotwatch bug): report it with the log line',
  msg_too_long: 'the message was too long for Slack (a Slotwatch bug): report it with the log line',
  message_not_found: 'the message was deleted in Slack: it is no longer updated',
  cant_update_message: 'the message cannot be edited by the bot any more',
  no_permission: 'the bot lacks a permission for {method}: check the app scopes and reinstall it',
  unknown_method: 'this Slack does not know {method} (a proxy in SLACK_API_URL that lacks it?)',
  invalid_arguments: 'Slack refused the call as malformed (a Slotwatch bug): report it with the log line',
};

export const isPermanent = (error: string): boolean => error in FIXES;

export interface SlackProblem {
  readonly method: string;
  readonly error: string;
  readonly channel: string | null;
  readonly fix: string;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** How many distinct problems are kept (method × error × channel); the oldest go first. */
const MAX_PROBLEMS = 50;

/**
 * Permanent Slack errors, each logged once with its fix and then only counted; shown in /healthz. A problem
 * clears when the same method succeeds again in that channel (the bot was invited, the scope added).
 */
export class SlackProblems {
  private readonly problems = new Map<string, SlackProblem>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  report(method: string, error: string, channel: string | null, needed: string | null): void {
    const key = `${method}|${error}|${channel ?? ''}`;
    const known = this.problems.get(key);
    const at = this.now();
    if (known) {
      this.problems.delete(key);
      this.problems.set(key, { ...known, count: known.count + 1, lastAt: at });
      return;
    }
    const fix = (FIXES[error] ?? 'check the Slack app configuration')
      .replace('{channel}', channel ?? 'the channel')
      .replace('{needed}', needed ?? 'missing')
      .replace('{method}', method);
    this.problems.set(key, { method, error, channel, fix, count: 1, firstAt: at, lastAt: at });
    if (this.problems.size > MAX_PROBLEMS) this.problems.delete(this.problems.keys().next().value ?? '');
    this.log.error({ method, error, channel, fix }, 'Slack refused a call: it will not work until fixed');
  }

  /** A call of `method` to `channel` worked: problems of that pair are over. */
  cleared(method: string, channel: string | null): void {
    for (const [key, problem] of this.problems)
      if (problem.method === method && problem.channel === channel) {
        this.problems.delete(key);
        this.log.info({ method, error: problem.error, channel }, 'Slack problem cleared');
      }
  }

  list(): SlackProblem[] {
    return [...this.problems.values()];
  }
}
