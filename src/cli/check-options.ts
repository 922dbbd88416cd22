import { DEFAULT_MAX_REPLY_BYTES } from '../core/connection.js';
import type { DiagnoseOptions } from '../core/diagnose.js';
import { DEFAULT_MAX_NODES, MAX_NODES_CEILING } from '../core/probe.js';
import { type CliIo, UsageError } from './io.js';

export interface CheckFlags {
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly 'password-file'?: string | undefined;
  readonly tls?: boolean | undefined;
  readonly 'tls-ca'?: string | undefined;
  readonly 'tls-insecure'?: boolean | undefined;
  readonly 'timeout-ms'?: string | undefined;
  readonly 'max-reply-bytes'?: string | undefined;
  readonly 'max-nodes'?: string | undefined;
}

export const CHECK_OPTIONS = {
  json: { type: 'boolean' },
  user: { type: 'string' },
  password: { type: 'string' },
  'password-file': { type: 'string' },
  tls: { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-insecure': { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  'max-reply-bytes': { type: 'string' },
  'max-nodes': { type: 'string' },
} as const;

async function readSecret(io: CliIo, path: string, what: string): Promise<string> {
  try {
    return (await io.readFile(path)).replace(/\r?\n$/, '');
  } catch (error) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return 2000;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 100 || ms > 600_000) {
    throw new UsageError(
      `--timeout-ms must be a whole number of milliseconds from 100 to 600000, got "${text}"`,
    );
  }
  return ms;
}

function parseWhole(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** Turns the connection flags (and SLOTWATCH_PASSWORD) into probe options. */
export async function diagnoseOptions(flags: CheckFlags, io: CliIo): Promise<DiagnoseOptions> {
  if (flags.password !== undefined && flags['password-file'] !== undefined) {
    throw new UsageError('give either --password or --password-file, not both');
  }
  const password =
    flags.password ??
    (flags['password-file'] !== undefined
      ? await readSecret(io, flags['password-file'], 'password file')
      : undefined) ??
    io.env.SLOTWATCH_PASSWORD;
  if (flags.user !== undefined && password === undefined) {
    throw new UsageError('--user needs a password (--password, --password-file or SLOTWATCH_PASSWORD)');
  }
  if (!flags.tls && (flags['tls-ca'] !== undefined || flags['tls-insecure'])) {
    throw new UsageError('--tls-ca and --tls-insecure need --tls');
  }
  const nodeTimeoutMs = parseTimeout(flags['timeout-ms']);
  const ca = flags['tls-ca'] !== undefined ? await readSecret(io, flags['tls-ca'], 'CA file') : undefined;
  return {
    nodeTimeoutMs,
    deadlineMs: Math.round(nodeTimeoutMs * 2.5) + 1000,
    maxReplyBytes: parseWhole(
      'max-reply-bytes',
      flags['max-reply-bytes'],
      DEFAULT_MAX_REPLY_BYTES,
      65_536,
      2 ** 30,
    ),
    maxNodes: parseWhole('max-nodes', flags['max-nodes'], DEFAULT_MAX_NODES, 1, MAX_NODES_CEILING),
    ...(flags.user !== undefined ? { username: flags.user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(flags.tls
      ? { tls: { ...(ca ? { ca } : {}), ...(flags['tls-insecure'] ? { rejectUnauthorized: false } : {}) } }
      : {}),
  };
}
