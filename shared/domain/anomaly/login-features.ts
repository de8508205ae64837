import type { Config } from '../../config/config.js';
import type { Queryable } from '../../db/pool.js';
import { findLoginAttemptFeatures, type LoginAttemptFeatureRow } from '../../db/queries/login-attempts.js';
import type { LoginFeatures } from './score-login-attempt.js';

export interface ScoredAttempt {
  id: string;
  userId: string;
  success: boolean;
  createdAt: Date;
  features: LoginFeatures;
  /** The account's failures within the guard window, this attempt included. */
  guardWindowFailures: number;
  /** A guard of the account lapsed and was not announced yet (releaseLapsedGuard has work). */
  guardLapsed: boolean;
}

/** An attempt's features as scoring reads them; undefined when it belongs to no account. */
export function scoredAttemptOf(row: LoginAttemptFeatureRow): ScoredAttempt | undefined {
  if (!row.user_id) return undefined;
  return {
    id: row.id,
    userId: row.user_id,
    success: row.success,
    createdAt: new Date(row.created_at),
    guardWindowFailures: row.guard_window_failures,
    guardLapsed: row.guard_lapsed,
    features: {
      hasPriorSuccess: row.has_prior_success,
      newIpPrefix: !row.known_ip_prefix,
      newUserAgent: !row.known_user_agent,
      accountFailures: row.account_failures,
      ipFailures: row.ip_failures,
      secondsSinceLastSuccess: row.seconds_since_last_success,
    },
  };
}

/**
 * The features of one attempt derived in SQL from its account's history in
 * login_attempts; undefined when the attempt is gone (pruned) or belongs to no account.
 */
export async function loadLoginFeatures(db: Queryable, settings: Config['anomaly'], attemptId: string): Promise<ScoredAttempt | undefined> {
  const [row] = await findLoginAttemptFeatures(db, [attemptId], {
    velocitySeconds: settings.velocityWindowSeconds,
    guardSeconds: settings.guardWindowSeconds,
  });
  return row && scoredAttemptOf(row);
}
