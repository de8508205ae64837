import type { Logger } from '../logger.js';
import { redactUrl, type Pool } from './pool.js';

export class DatabaseUnavailableError extends Error {}

/** Error codes that retrying will not fix: wrong role, password or database name. */
const PERMANENT = new Set(['28P01', '28000', '3D000']);

/**
 * Waits until PostgreSQL answers, retrying with capped exponential backoff for at most
 * timeoutMs; then fails with one clear message instead of a stack trace.
 */
export async function waitForDatabase(pool: Pool, url: string, timeoutMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1');
      if (attempt > 1) log.info({ attempt }, 'database is up');
      return;
    } catch (error) {
      const { code, message } = error as { code?: string; message: string };
      if ((code && PERMANENT.has(code)) || Date.now() + delay > deadline) {
        throw new DatabaseUnavailableError(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${message}`);
      }
      log.warn({ attempt, retry_in_ms: delay, reason: message }, `PostgreSQL at ${redactUrl(url)} is not reachable yet; retrying`);
      // Jittered, so processes started together against a database that is away do not knock in step.
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}
