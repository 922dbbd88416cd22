import { webApi } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { IncidentStore } from '../jobs/incident-store.js';
import type { Outbox, QueuedPost } from '../jobs/outbox.js';
import type { PostItem } from '../jobs/outbox-items.js';
import type { RequestStore } from '../jobs/requests.js';
import type { Timelines } from '../jobs/timeline.js';
import { boltLogger } from './bolt-logger.js';
import { incidentView, isIncidentItem, postIncidentItem } from './render-incident.js';
import { isRequestItem, postRequestItem, RequestView } from './render-request.js';
import { SlackRenderer, type Where } from './renderer.js';
import { SlackBudget } from './slack-budget.js';
import { type CallResult, SlackCalls } from './slack-calls.js';
import { SlackProblems } from './slack-problems.js';

/** Web API options for every call Slotwatch makes: bounded in time, no hidden retries, 429 answered to us. */
export const webApiOptions = (apiUrl: string | null, timeoutMs = 10_000) => ({
  ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
  timeout: timeoutMs,
  retryConfig: { retries: 0 },
  rejectRateLimitedCalls: true,
});

export interface SlackViewsOptions {
  readonly botToken: string;
  readonly apiUrl: string | null;
  readonly redis: Redis;
  readonly prefix: string;
  readonly outbox: Outbox;
  readonly incidents: IncidentStore | null;
  readonly requests: RequestStore | null;
  readonly timelines: Timelines | null;
  /** Incident posts offer "Plan a fix" (repairs are on). */
  readonly fixButton: boolean;
  readonly log: Logger;
  readonly count?: (method: string, result: CallResult, error?: string) => void;
  /** Longest one Web API call may take. @defaultValue 10 s */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

export interface SlackViews {
  readonly renderer: SlackRenderer;
  readonly problems: SlackProblems;
  readonly requestView: RequestView | null;
}

/** Slack as a view of the queue Redis: the Web API client, the shared budget, and the one render path. */
export function createSlackViews(options: SlackViewsOptions): SlackViews {
  const log = options.log;
  const client: WebClient = new webApi.WebClient(options.botToken, {
    ...webApiOptions(options.apiUrl, options.timeoutMs),
    logger: boltLogger(log),
  });
  const problems = new SlackProblems(log);
  const calls = new SlackCalls({
    budget: new SlackBudget(options.redis, options.prefix),
    problems,
    log,
    ...(options.count ? { count: options.count } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const incidentDeps = options.incidents
    ? {
        client,
        calls,
        store: options.incidents,
        outbox: options.outbox,
        timelines: options.timelines,
        fixButton: options.fixButton,
        log,
      }
    : null;
  const requestDeps = options.requests
    ? { client, calls, store: options.requests, outbox: options.outbox, log }
    : null;
  const requestView = requestDeps ? new RequestView(requestDeps) : null;
  const nothing = {
    render: async () => ({ result: 'done' }) as const,
    where: async () => ({ state: 'none' }) as const,
  };
  const post = async (queued: QueuedPost, parent: Where | null) => {
    const item = queued.item as PostItem;
    if (isIncidentItem(item) && incidentDeps)
      return postIncidentItem(incidentDeps, queued.channel, item, queued.createdAt, parent);
    if (isRequestItem(item) && requestDeps)
      return postRequestItem(requestDeps, item, queued.createdAt, parent);
    log.warn({ post: queued.id, kind: (item as { kind?: unknown }).kind }, 'unknown post dropped');
    return { result: 'done' } as const;
  };
  const renderer = new SlackRenderer({
    outbox: options.outbox,
    views: {
      incident: incidentDeps ? incidentView(incidentDeps) : nothing,
      request: requestView ?? nothing,
    },
    post,
    log: log.child({ part: 'renderer' }),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  });
  return { renderer, problems, requestView };
}
