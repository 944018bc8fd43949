/**
 * Logging with pino: JSON lines on stdout (start-foreground) or to a file (start), at the level
 * ZOO_LOG_LEVEL or the config asks for.
 */
import pino from 'pino';
import type { Logger } from './zookeeper-server';

export function createLogger(opts: { level?: string; destination?: string | number } = {}): Logger & pino.Logger {
  const level = opts.level ?? process.env['ZOO_LOG_LEVEL']?.toLowerCase() ?? 'info';
  const dest = pino.destination({ dest: opts.destination ?? 1, sync: true });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
