import { describe, expect, it } from 'vitest';
import { requestMessage } from '../../src/slack/blocks/repair-blocks.js';
import { requestFixture } from '../support/request-fixtures.js';

const shown = (over: Parameters<typeof requestFixture>[0]) =>
  JSON.stringify(requestMessage(requestFixture(over)).blocks);
const vote = (user: string, at: number) => ({ user, at });

describe('the time a request message shows', () => {
  it.each([
    ['rejected', [vote('U0ALICE01', 1_796_000_000_000)]],
    ['expired', []],
    ['stale', []],
  ] as const)('never shows an approval time for a %s request that was not approved', (status, approvals) => {
    const text = shown({ status, approvals: [...approvals], required: 2 });
    expect(text).not.toContain('*Approved*');
    expect(text).toContain(`*Closed*\\n${status}, never approved`);
  });

  it('shows when the deciding approval came for an approved request that has not started', () => {
    const text = shown({
      status: 'queued',
      approvals: [vote('U0ALICE01', 1_796_000_000_000), vote('U0BOB0001', 1_796_000_060_000)],
      required: 2,
    });
    expect(text).toContain('*Approved*\\n<!date^1796000060^');
  });
});
