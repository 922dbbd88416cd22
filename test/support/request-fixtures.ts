import type { RepairOption } from '../../src/core/repair/types.js';
import type { RepairRequest } from '../../src/jobs/requests.js';

/** A take-over option of three steps that loses 2,013 keys in slots 0-5460, for tests that render requests. */
export const optionFixture = (over: Partial<RepairOption> = {}): RepairOption => ({
  id: 'take-over-aaaa',
  kind: 'take-over-slots',
  title: 'Give the slots away',
  explanation: 'x',
  risk: 'data-loss',
  loss: { slots: [[0, 5460]], keys: 2013, description: 'every key in 0-5460' },
  steps: [1, 2, 3].map((index) => ({
    index,
    action: { type: 'bump-epoch', node: 'n' },
    where: '10.0.0.6:6379',
    command: `CMD ${index}`,
    why: '',
  })),
  nodes: [],
  expected: '',
  fingerprint: 'f',
  ...over,
});

/** A pending request for that option, no vote yet. */
export const requestFixture = (over: Partial<RepairRequest> = {}): RepairRequest => ({
  id: 'rq-1',
  cluster: 'prod',
  option: optionFixture(),
  requester: 'U0REQ',
  channel: 'C1',
  ts: '1.1',
  createdAt: 1_000_000,
  expiresAt: 2_800_000,
  required: 2,
  status: 'pending',
  approvals: [],
  rejectedBy: null,
  cancelledBy: null,
  outcome: null,
  version: 1,
  runner: null,
  heartbeatAt: null,
  step: null,
  finished: [],
  cancelRequested: null,
  incident: null,
  permalink: null,
  eligible: null,
  lossHolders: [],
  result: null,
  ...over,
});
