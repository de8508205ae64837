import { deleteExpiredMfaChallenges } from '../../shared/db/queries/mfa-challenges.js';
import type { Config } from '../../shared/config/config.js';
import { withTransaction, type Pool } from '../../shared/db/pool.js';
import { findLapsedAccountGuards } from '../../shared/db/queries/account-guards.js';
import { deleteAuditLogsOlderThan } from '../../shared/db/queries/audit-logs.js';
import { deleteLoginAttemptsOlderThan } from '../../shared/db/queries/login-attempts.js';
import { deletePublishedOutboxOlderThan } from '../../shared/db/queries/outbox.js';
import { deleteCompletedReactionsOlderThan } from '../../shared/db/queries/reactions.js';
import { deleteEndedSessions } from '../../shared/db/queries/sessions.js';
import { deleteSpentTokens, TOKEN_TABLES, tokenTableExists } from '../../shared/db/queries/spent-tokens.js';
import { releaseLapsedGuard } from '../../shared/domain/anomaly/guard-account.js';
import type { Logger } from '../../shared/logger.js';
import { drain, type Batch, type PurgeBatchLimits } from './purge-batches.js';

export interface MaintenanceSettings {
  retention: Config['retention'];
  /** Each DELETE is its own short transaction of at most this many rows, sized to take about this long. */
  batches: PurgeBatchLimits;
}

export interface MaintenanceReport {
  /** Rows removed per table (token tables that do not exist are left out). */
  removed: Record<string, number>;
  /** Purges that failed; the others still ran. */
  failed: string[];
  durationMs: number;
}

/**
 * The retention purge: expired or consumed tokens, sessions ended longer ago than
 * their retention (with their refresh tokens), published outbox rows, completed
 * reactions, old login attempts and audit rows past their retention; and lapsed account
 * guards announced (UserUnlocked) where no attempt did it yet. Every table is
 * purged in batches; a failing table is logged and the others still run. Used by the
 * pg-boss schedule, by `npm run maintenance` and by tests alike.
 */
export async function runMaintenance(pool: Pool, settings: MaintenanceSettings, log: Logger): Promise<MaintenanceReport> {
  const started = Date.now();
  const { retention, batches } = settings;
  const removed: Record<string, number> = {};
  const failed: string[] = [];

  async function purge(name: string, batch: Batch): Promise<void> {
    try {
      removed[name] = await drain(batch, batches);
    } catch (error) {
      failed.push(name);
      log.error({ table: name, reason: (error as Error).message }, 'maintenance purge failed');
    }
  }

  for (const table of TOKEN_TABLES) {
    if (await tokenTableExists(pool, table)) await purge(table, (limit) => deleteSpentTokens(pool, table, limit));
  }
  let refreshTokens = 0;
  await purge('sessions', async (limit) => {
    const counts = await deleteEndedSessions(pool, retention.sessionDays, limit);
    refreshTokens += counts.refreshTokens;
    return counts.sessions;
  });
  removed.refresh_tokens = refreshTokens;
  await purge('outbox', (limit) => deletePublishedOutboxOlderThan(pool, retention.outboxDays, limit));
  await purge('reactions', (limit) => deleteCompletedReactionsOlderThan(pool, retention.reactionDays, limit));
  await purge('login_attempts', (limit) => deleteLoginAttemptsOlderThan(pool, retention.loginAttemptDays, limit));
  await purge('mfa_challenges', (limit) => deleteExpiredMfaChallenges(pool, limit));
  await purge('audit_logs', (limit) => withTransaction(pool, (tx) => deleteAuditLogsOlderThan(tx, retention.auditDays, limit)));

  // Not a purge: guards that lapsed with no attempt since get their UserUnlocked now.
  await purge('account_guards_released', async (limit) => {
    const userIds = await findLapsedAccountGuards(pool, limit);
    for (const userId of userIds) await withTransaction(pool, (tx) => releaseLapsedGuard(tx, userId));
    return userIds.length;
  });

  const report = { removed, failed, durationMs: Date.now() - started };
  log.info({ removed, failed, duration_ms: report.durationMs }, 'maintenance purge finished');
  return report;
}
