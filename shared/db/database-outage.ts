import type { Logger } from '../logger.js';
import type { Pool } from './pool.js';

/**
 * SQLSTATEs that mean the server is away or refusing sessions for now (class 08
 * connection exception; 57P01-57P03 shutting down, crashed, starting up; 53300 too many
 * connections), not that the statement was wrong.
 */
const UNAVAILABLE_CODES = /^(08...|57P0[123]|53300)$/;
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
/** What pg and pg-pool throw, without a code, when the socket dies or a connection cannot be had in time. */
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/;

/** Whether `error` says PostgreSQL is unreachable or restarting, so the request may succeed if retried shortly. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.test(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  return UNAVAILABLE_MESSAGES.test(error.message);
}

export interface DatabaseOutage {
  /** Reports a failure that isDatabaseUnavailable; the first of an outage is logged. */
  failed(error: Error): void;
}

/**
 * Logs a PostgreSQL outage once when it starts and once when it ends (the pool's next
 * new connection), at warn, instead of a line per failing request or idle client.
 */
export function watchDatabaseOutage(pool: Pool, log: Logger): DatabaseOutage {
  let downSince: number | undefined;
  const failed = (error: Error) => {
    if (downSince !== undefined) return;
    downSince = Date.now();
    log.warn({ reason: error.message }, 'PostgreSQL is unreachable; what needs it fails (the API answers 503) until it is back');
  };
  pool.on('error', failed);
  pool.on('connect', () => {
    if (downSince === undefined) return;
    log.warn({ outage_ms: Date.now() - downSince }, 'PostgreSQL is reachable again');
    downSince = undefined;
  });
  return { failed };
}
