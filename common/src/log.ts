import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The structured logger every ccfed process uses: one JSON line per event, with an `event`
 * field naming what happened and ids (call, agent, site, tenant) as fields.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid, service: name } });
}

/** A logger that drops everything: for tests that assert behaviour, not log lines. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
