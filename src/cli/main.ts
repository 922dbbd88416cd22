import { type CliIo, UsageError } from './io.js';

// Each command loads its modules only when it runs: `help` and `explain` never load ioredis or the repairs.
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
        --max-nodes caps the lines of one CLUSTER NODES reply and the nodes probed (default and maximum 1000).
plan    lists the repairs that fit the current state, each with a stable id, its risk and its steps.
fix     runs one of them locally (break-glass; the Slack path needs two approvals). Options that can lose
        data refuse without --accept-data-loss. Exit 0 only when the cluster has no error finding after.
        With --queue-redis (or QUEUE_REDIS_URL) it takes the bot's one-repair-per-cluster lock on NAME
        (the cluster's name in the bot's CLUSTERS; default the first seed).
explain prints the runbook entry for a Redis error message.`;

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'check':
        return await (await import('./commands/check.js')).checkCommand(args, io);
      case 'plan':
        return await (await import('./commands/plan-fix.js')).planCommand(args, io);
      case 'fix':
        return await (await import('./commands/plan-fix.js')).fixCommand(args, io);
      case 'explain':
        return (await import('./commands/explain.js')).explainCommand(args, io);
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
