import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Outbox, type QueuedPost } from '../../src/jobs/outbox.js';
import { type Rendered, SlackRenderer, type ViewKind, type Where } from '../../src/slack/renderer.js';
import { SlackBudget } from '../../src/slack/slack-budget.js';
import { useQueueRedis } from '../support/queue-redis.js';

const queue = useQueueRedis();

const fresh = () => `ob${Math.random().toString(36).slice(2)}`;
const request = { kind: 'request', id: 'rq-1' } as const;

describe('the outbox (what Slack should show, in the queue Redis)', () => {
  it('folds ten changes of one message into one render of the latest state', async () => {
    const outbox = new Outbox(queue.redis, fresh());
    for (let i = 0; i < 10; i++) await outbox.mark(request);

    const due = await outbox.due();
    expect(due).toHaveLength(1);
    const [entry] = due;
    if (entry?.type !== 'view') throw new Error('a view was expected');
    await outbox.rendered(entry);
    expect(await outbox.backlog()).toBe(0);
  });

  it('renders again a message changed while it was being rendered, no sooner than a second after', async () => {
    let clock = 1_000_000;
    const outbox = new Outbox(queue.redis, fresh(), { now: () => clock });
    await outbox.mark(request);
    const [entry] = await outbox.due();
    if (entry?.type !== 'view') throw new Error('a view was expected');

    await outbox.mark(request);
    await outbox.rendered(entry);

    expect(await outbox.due()).toEqual([]);
    clock += 999;
    expect(await outbox.due()).toEqual([]);
    clock += 1;
    expect((await outbox.due()).map((e) => e.member)).toEqual([entry.member]);
  });

  it('keeps a deferred render at its time when the message changes again meanwhile', async () => {
    let clock = 5_000_000;
    const outbox = new Outbox(queue.redis, fresh(), { now: () => clock });
    await outbox.mark(request);
    const [entry] = await outbox.due();
    if (!entry) throw new Error('an entry was expected');
    await outbox.later(entry, clock + 45_000);

    await outbox.mark(request);
    clock += 44_000;
    expect(await outbox.due()).toEqual([]);
    clock += 1000;
    expect(await outbox.due()).toHaveLength(1);
  });

  it('gives posts in the order queued', async () => {
    const outbox = new Outbox(queue.redis, fresh());
    await outbox.post('C1', null, { n: 1 });
    await outbox.post('C1', null, { n: 2 });
    await outbox.post('C2', null, { n: 3 });

    const due = await outbox.due();
    expect(due.map((e) => (e.type === 'post' ? (e.post.item as { n: number }).n : 0))).toEqual([1, 2, 3]);
  });
});

/** The render path over a real outbox, with Slack played by `post` and views that are where `where` says. */
function renderer(
  outbox: Outbox,
  post: (queued: QueuedPost, parent: Where | null) => Promise<Rendered>,
  where: () => Promise<Where> = async () => ({ state: 'none' }),
) {
  const view: ViewKind = { render: async () => ({ result: 'done' }), where };
  return new SlackRenderer({
    outbox,
    views: { incident: view, request: view },
    post,
    log: pino({ level: 'silent' }),
    pollMs: 20,
  });
}

const untilEmpty = async (outbox: Outbox) => {
  const end = Date.now() + 10_000;
  while ((await outbox.backlog()) > 0) {
    if (Date.now() > end) throw new Error('the outbox did not drain');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('the render path (posts)', () => {
  it('lands the posts of a channel in the order queued when the first must wait, and holds up no other channel', async () => {
    const outbox = new Outbox(queue.redis, fresh());
    for (const n of ['a1', 'a2', 'a3']) await outbox.post('C1', null, { n });
    await outbox.post('C2', null, { n: 'b1' });
    const landed: string[] = [];
    let waited = false;
    const slack = renderer(outbox, async (queued) => {
      const { n } = queued.item as { n: string };
      if (n === 'a1' && !waited) {
        waited = true;
        return { result: 'wait', waitMs: 300 };
      }
      landed.push(n);
      return { result: 'done' };
    });

    slack.start();
    await untilEmpty(outbox);
    await slack.stop();

    expect(landed.filter((n) => n.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(landed.indexOf('b1')).toBeLessThan(landed.indexOf('a1'));
  });

  it('posts a thread reply only after its parent view has landed', async () => {
    const outbox = new Outbox(queue.redis, fresh());
    await outbox.post('C1', { kind: 'request', id: 'rq-9' }, { n: 'reply' });
    let parent: Where = { state: 'pending' };
    const seen: (Where | null)[] = [];
    const slack = renderer(
      outbox,
      async (_queued, where) => {
        seen.push(where);
        return { result: 'done' };
      },
      async () => parent,
    );

    slack.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toEqual([]);
    parent = { state: 'landed', channel: 'C1', ts: '1.1', landedAt: 1 };
    await untilEmpty(outbox);
    await slack.stop();

    expect(seen).toEqual([parent]);
  });
});

describe("Slack's limits, shared by every replica", () => {
  it('lets at most 45 chat.update calls go in a minute across two replicas, then says how long to wait', async () => {
    const prefix = fresh();
    const clock = 10_000_000;
    const [one, two] = [
      new SlackBudget(queue.redis, prefix, undefined, () => clock),
      new SlackBudget(queue.redis, prefix, undefined, () => clock),
    ];
    const waits: number[] = [];
    for (let i = 0; i < 30; i++)
      waits.push(await one.take('chat.update', `C${i}`), await two.take('chat.update', `C${i}`));

    expect(waits.filter((w) => w === 0)).toHaveLength(45);
    expect(waits.at(-1)).toBe(60_000);
  });

  it('lets one post a second into a channel, and others into other channels', async () => {
    const budget = new SlackBudget(queue.redis, fresh());
    expect(await budget.take('chat.postMessage', 'C1')).toBe(0);
    const wait = await budget.take('chat.postMessage', 'C1');
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1000);
    expect(await budget.take('chat.postMessage', 'C2')).toBe(0);
    // An upload ends in a message in the channel: it takes the same turn.
    expect(await budget.take('files.uploadV2', 'C2')).toBeGreaterThan(0);
  });

  it("blocks a method for Slack's Retry-After on every replica", async () => {
    const prefix = fresh();
    await new SlackBudget(queue.redis, prefix).block('chat.update', 45_000);
    const wait = await new SlackBudget(queue.redis, prefix).take('chat.update', 'C1');
    expect(wait).toBeGreaterThan(44_000);
    expect(await new SlackBudget(queue.redis, prefix).take('chat.postMessage', 'C1')).toBe(0);
  });
});
