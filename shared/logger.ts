import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Field paths that must never reach a log line, wherever they appear. */
const REDACT = [
  'password',
  '*.password',
  'current_password',
  '*.current_password',
  'new_password',
  '*.new_password',
  'token',
  '*.token',
  'refresh_token',
  '*.refresh_token',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

/**
 * The process's logger (JSON lines on stdout, or `destination`). A request's lines come
 * from its own child logger (`ctx.state.log`, made by requestContextMiddleware), which
 * adds the request_id: passed along, not looked up through AsyncLocalStorage, whose
 * promise hooks would tax every await in the process (about a sixth of GET /health's CPU).
 */
export function createLogger(level: string, name = 'user-services', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
