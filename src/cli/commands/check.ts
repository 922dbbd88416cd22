import { hasErrors } from '../../core/analyze.js';
import { diagnose } from '../../core/diagnose.js';
import { type CliIo, UsageError } from '../io.js';
import { renderReport } from '../render-report.js';
import { makeStyle } from '../style.js';
import { clusterArgs } from './shared.js';

export async function checkCommand(args: string[], io: CliIo): Promise<number> {
  const { seeds, values, options } = await clusterArgs('check', args, {}, io);
  const result = await diagnose(seeds, options);
  if (!result.ok) throw new UsageError(result.error.message);
  io.stdout(
    values.json
      ? `${JSON.stringify(result.value, null, 2)}\n`
      : renderReport(result.value, makeStyle(io.color)),
  );
  return hasErrors(result.value) ? 1 : 0;
}
