import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { DiagnoseOptions } from '../../core/diagnose.js';
import { CHECK_OPTIONS, diagnoseOptions } from '../check-options.js';
import { type CliIo, UsageError } from '../io.js';

export function parse(args: string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args, options: options ?? {}, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''), {
      showUsage: true,
    });
  }
}

/** The seeds positional and the connection flags every cluster command takes. */
export async function clusterArgs(
  command: string,
  args: string[],
  extra: ParseArgsConfig['options'],
  io: CliIo,
): Promise<{
  seeds: string[];
  values: Record<string, string | boolean | undefined>;
  options: DiagnoseOptions;
}> {
  const { values, positionals } = parse(args, { ...CHECK_OPTIONS, ...extra });
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? `${command} needs the seeds: host:port[,host:port…]`
        : `${command} takes one seed list, got ${positionals.length} arguments (join seeds with commas)`,
      { showUsage: true },
    );
  }
  const seeds = (positionals[0] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const typed = values as Record<string, string | boolean | undefined>;
  return {
    seeds,
    values: typed,
    options: await diagnoseOptions(typed as Record<string, string | undefined>, io),
  };
}
