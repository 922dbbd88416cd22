import { hasErrors } from '../core/analyze.js';
import { diagnose } from '../core/diagnose.js';
import { explainError } from '../core/explain.js';
import { KNOWLEDGE_BASE } from '../core/knowledge-base.js';
import { fixCommand, planCommand } from './commands/plan-fix.js';
import { clusterArgs, parse } from './commands/shared.js';
import { type CliIo, UsageError } from './io.js';
import { renderExplain } from './render-explain.js';
import { renderReport } from './render-report.js';
import { makeStyle } from './style.js';

export const USAGE = `Usage:
  slotwatch check <host:port>[,<host:port>…] [--json] [--user U] [--password P | --password-file F]
                  [--tls [--tls-ca F] [--tls-insecure]] [--timeout-ms N] [--max-reply-bytes N] [--max-nodes N]
  slotwatch plan <seeds> [--json] [connection flags as for check]
  slotwatch fix <seeds> --option <id> --yes [--accept-data-loss] [--queue-redis URL --cluster-name NAME]
                [connection flags as for check]
  slotwatch explain "<redis error text>"
  slotwatch help

check   diagnoses a Redis Cluster: exit 0 healthy, 1 at least one error finding, 2 could not diagnose.
        The password may also come from SLOTWATCH_PASSWORD (a flag shows in ps).
        --timeout-ms is each node's deadline (default 2000); the whole probe ends by 2.5x that + 1 s.
        --max-reply-bytes caps what one node may send for one request (default 16777216, 16 MiB);
        --max-nodes caps the lines of one CLUSTER NODES reply and the nodes probed (default 1000).
plan    lists the repairs that fit the current state, each with a stable id, its risk and its steps.
fix     runs one of them locally (break-glass; the Slack path needs two approvals). Options that can lose
        data refuse without --accept-data-loss. Exit 0 only when the cluster has no error finding after.
        With --queue-redis (or QUEUE_REDIS_URL) it takes the bot's one-repair-per-cluster lock on NAME
        (the cluster's name in the bot's CLUSTERS; default the first seed).
explain prints the runbook entry for a Redis error message.`;

async function check(args: string[], io: CliIo): Promise<number> {
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

function explain(args: string[], io: CliIo): number {
  const { positionals } = parse(args, {});
  const text = positionals.join(' ').trim();
  if (text === '') {
    throw new UsageError(
      'explain needs the error text, e.g. slotwatch explain "CLUSTERDOWN The cluster is down"',
      {
        showUsage: true,
      },
    );
  }
  const entry = explainError(text);
  if (!entry) {
    io.stderr(
      `slotwatch: no runbook entry matches "${text}". Known errors:\n${KNOWLEDGE_BASE.map((e) => `  ${e.title}`).join('\n')}\n`,
    );
    return 1;
  }
  io.stdout(renderExplain(entry, makeStyle(io.color)));
  return 0;
}

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'check':
        return await check(args, io);
      case 'plan':
        return await planCommand(args, io);
      case 'fix':
        return await fixCommand(args, io);
      case 'explain':
        return explain(args, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(command === undefined ? 'no command given' : `unknown command "${command}"`, {
          showUsage: true,
        });
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`slotwatch: ${error instanceof UsageError ? message : `unexpected failure: ${message}`}\n`);
    if (error instanceof UsageError && error.showUsage) io.stderr(`${USAGE}\n`);
    return 2;
  }
}
