import type { RepairOption } from '../../core/repair/types.js';
import type { Report } from '../../core/report.js';
import { countSlots, formatRanges } from '../../core/slot-ranges.js';
import { esc } from './limits.js';

/** The dead masters among the nodes an option touches: the only ones that held the keys it gives up. */
export function lossHolders(option: RepairOption, report: Report): string[] {
  if (option.risk !== 'data-loss') return [];
  return report.nodes
    .filter((n) => option.nodes.includes(n.id) && n.role === 'master')
    .filter((n) => !n.reachable || n.flags.includes('fail'))
    .map((n) => n.address ?? n.id.slice(0, 8));
}

const list = (items: readonly string[]): string =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

/**
 * One plain sentence for what a data-loss option loses, from its stated loss: "Loses the 2,013 keys in slots
 * 0-5460 that only 10.0.0.5:6379 held; they cannot be recovered by Slotwatch." (mrkdwn, escaped).
 */
export function lossSentence(option: RepairOption, holders: readonly string[]): string {
  const loss = option.loss;
  if (!loss) return 'Loses data (see the steps); it cannot be recovered by Slotwatch.';
  const range = formatRanges(loss.slots, 6);
  if (loss.keys === 0) return `Gives up slots ${range}, where no keys were last seen: nothing known is lost.`;
  const keys =
    loss.keys === null
      ? 'an unknown number of keys'
      : loss.keys === 1
        ? 'the 1 key'
        : `the ${loss.keys.toLocaleString('en-US')} keys`;
  const slots =
    loss.slots.length === 0 ? '' : ` in ${countSlots(loss.slots) === 1 ? 'slot' : 'slots'} ${range}`;
  const held = holders.length > 0 ? ` that only ${esc(list(holders))} held` : '';
  const they = loss.keys === 1 ? 'it cannot' : 'they cannot';
  return `Loses ${keys}${slots}${held}; ${they} be recovered by Slotwatch.`;
}
