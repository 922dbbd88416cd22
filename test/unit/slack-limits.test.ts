import { describe, expect, it } from 'vitest';
import { SlackLimits } from '../../src/sandbox/slack-limits.js';

/** Limits on a clock the test moves. */
function limitsAt(start = 1_000_000) {
  let now = start;
  const limits = new SlackLimits({ now: () => now });
  return {
    limits,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const takeMany = (limits: SlackLimits, n: number, method: string, channel?: string) =>
  Array.from({ length: n }, () => limits.take(method, channel));

describe('SlackLimits', () => {
  it('refuses the 51st chat.update within a minute across channels and frees a slot when the first leaves the window', () => {
    const { limits, advance } = limitsAt();
    for (let i = 0; i < 50; i++) {
      expect(limits.take('chat.update', i % 2 ? 'C1' : 'C2')).toBe(0);
      advance(100);
    }
    // The first call was 5 s ago: a slot frees in 55 s.
    expect(limits.take('chat.update', 'C3')).toBe(55);
    advance(54_001);
    expect(limits.take('chat.update', 'C3')).toBe(1);
    advance(999);
    expect(limits.take('chat.update', 'C3')).toBe(0);
    expect(limits.take('chat.update', 'C3')).toBe(1);
  });

  it('does not count a refused call against the limit', () => {
    const { limits, advance } = limitsAt();
    expect(limits.take('chat.postMessage', 'C1')).toBe(0);
    advance(500);
    expect(limits.take('chat.postMessage', 'C1')).toBe(1);
    advance(500);
    // Had the refused call counted, C1 would be busy until 1.5 s.
    expect(limits.take('chat.postMessage', 'C1')).toBe(0);
  });

  it('allows one chat.postMessage per second per channel, with no burst', () => {
    const { limits, advance } = limitsAt();
    expect(limits.take('chat.postMessage', 'C1')).toBe(0);
    expect(limits.take('chat.postMessage', 'C1')).toBe(1);
    expect(limits.take('chat.postMessage', 'C2')).toBe(0);
    advance(999);
    expect(limits.take('chat.postMessage', 'C1')).toBe(1);
    advance(1);
    expect(limits.take('chat.postMessage', 'C1')).toBe(0);
    expect(limits.take('chat.postMessage', 'C2')).toBe(0);
  });

  it('caps chat.postMessage at 100 a minute over all channels', () => {
    const { limits, advance } = limitsAt();
    const channels = Array.from({ length: 100 }, (_, i) => `C${i}`);
    expect(channels.map((c) => limits.take('chat.postMessage', c))).toEqual(channels.map(() => 0));
    advance(30_000);
    expect(limits.take('chat.postMessage', 'C100')).toBe(30);
    advance(30_000);
    expect(limits.take('chat.postMessage', 'C100')).toBe(0);
  });

  it.each([
    'files.getUploadURLExternal',
    'files.completeUploadExternal',
    'views.publish',
    'usergroups.users.list',
    'chat.getPermalink',
    'conversations.info',
  ])('allows 100 %s calls a minute, each method on its own', (method) => {
    const { limits, advance } = limitsAt();
    expect(takeMany(limits, 100, method).every((wait) => wait === 0)).toBe(true);
    expect(limits.take(method)).toBe(60);
    expect(limits.take(method === 'views.publish' ? 'chat.getPermalink' : 'views.publish')).toBe(0);
    advance(59_999);
    expect(limits.take(method)).toBe(1);
    advance(1);
    expect(limits.take(method)).toBe(0);
  });

  it('says at least 1 s when a slot frees within the second', () => {
    const { limits, advance } = limitsAt();
    expect(limits.take('chat.postMessage', 'C1')).toBe(0);
    advance(999);
    expect(limits.take('chat.postMessage', 'C1')).toBe(1);
  });

  it('leaves methods it knows no limit for alone', () => {
    const { limits } = limitsAt();
    expect(takeMany(limits, 1000, 'auth.test')).toEqual(Array.from({ length: 1000 }, () => 0));
  });
});
