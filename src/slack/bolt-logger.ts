import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from 'pino';

const TOKEN = /\b(xox[abpr]|xapp)-[A-Za-z0-9-]+/g;

/** Bolt's Logger interface on top of pino, so there is one log stream (tokens scrubbed from messages). */
export function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const write =
    (method: 'debug' | 'info' | 'warn' | 'error') =>
    (...messages: unknown[]) => {
      const text = messages
        .map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m)))
        .join(' ');
      log[method]({ source: 'bolt' }, text.replace(TOKEN, '$1-[redacted]'));
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
