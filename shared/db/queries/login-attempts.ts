import type { Queryable } from '../pool.js';

export interface LoginAttempt {
  userId: string | undefined;
  /** The address typed; null for a passkey no account holds (no address was given). */
  email: string | null;
  ip: string | undefined;
  userAgent: string | undefined;
  success: boolean;
  /** Why it failed (invalid_password, unknown_email, account_locked, ...); null on success. */
  reason: string | null;
}

/** Records one attempt; returns its id, which the login events carry. */
export async function insertLoginAttempt(db: Queryable, attempt: LoginAttempt): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO login_attempts (user_id, email, ip_addr, user_agent, success, reason)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [attempt.userId ?? null, attempt.email, attempt.ip ?? null, attempt.userAgent ?? null, attempt.success, attempt.reason],
  );
  return rows[0]!.id;
}

/** One attempt with the history-derived counts that anomaly scoring needs. */
export interface LoginAttemptFeatureRow {
  id: string;
  user_id: string | null;
  success: boolean;
  ip_addr: string | null;
  user_agent: string | null;
  /** A Date; an ISO string where the row was read as JSON (the relay's claim). */
  created_at: Date | string;
  has_prior_success: boolean;
  known_ip_prefix: boolean;
  known_user_agent: boolean;
  account_failures: number;
  ip_failures: number;
  guard_window_failures: number;
  seconds_since_last_success: number | null;
  /** The account's guard has lapsed and its release is not announced yet. */
  guard_lapsed: boolean;
}

/**
 * Reads the attempts `ids` and what came before each (ids below it: the answer does not
 * change when the attempt is scored again later). account_failures and ip_failures count
 * earlier failures within velocitySeconds; guard_window_failures counts the account's
 * failures within guardSeconds up to and including the attempt. Missing ids are absent.
 */
export async function findLoginAttemptFeatures(
  db: Queryable,
  ids: string[],
  windows: { velocitySeconds: number; guardSeconds: number },
): Promise<LoginAttemptFeatureRow[]> {
  const { rows } = await db.query<LoginAttemptFeatureRow>({
    name: 'find-login-attempt-features',
    text: `WITH a AS (SELECT * FROM login_attempts WHERE id = ANY($1::bigint[])) ${loginAttemptFeaturesSql('$2', '$3')}`,
    values: [ids, windows.velocitySeconds, windows.guardSeconds],
  });
  return rows;
}

/**
 * The SELECT of findLoginAttemptFeatures over the attempts of a relation named `a` (a
 * CTE of the caller's statement), the windows' seconds in the parameters named: a
 * LoginAttemptFeatureRow per attempt. The relay's claim reads it in its own statement.
 */
export function loginAttemptFeaturesSql(velocitySeconds: string, guardSeconds: string): string {
  // Every look at the past is an indexed probe that stops at its first match, so the
  // cost does not grow with the account's history: the last earlier success
  // (login_attempts_user_successes_idx), a success from this prefix or user agent (the
  // partial indexes of 006), and failures within the windows.
  return `SELECT a.id::text AS id, a.user_id, a.success, host(a.ip_addr) AS ip_addr, a.user_agent, a.created_at,
            last_success.created_at IS NOT NULL AS has_prior_success,
            EXISTS (SELECT 1 FROM login_attempts p
                     WHERE p.user_id = a.user_id AND p.success AND p.disowned_at IS NULL AND p.ip_prefix = a.ip_prefix AND p.id < a.id) AS known_ip_prefix,
            EXISTS (SELECT 1 FROM login_attempts p
                     WHERE p.user_id = a.user_id AND p.success AND p.disowned_at IS NULL AND p.user_agent = a.user_agent AND p.id < a.id) AS known_user_agent,
            (SELECT count(*)::int FROM login_attempts f
              WHERE f.user_id = a.user_id AND NOT f.success AND f.id < a.id
                AND f.created_at > a.created_at - make_interval(secs => ${velocitySeconds})) AS account_failures,
            (SELECT count(*)::int FROM login_attempts f
              WHERE f.ip_addr = a.ip_addr AND NOT f.success AND f.id < a.id
                AND f.created_at > a.created_at - make_interval(secs => ${velocitySeconds})) AS ip_failures,
            (SELECT count(*)::int FROM login_attempts f
              WHERE f.user_id = a.user_id AND NOT f.success AND f.id <= a.id
                AND f.created_at > a.created_at - make_interval(secs => ${guardSeconds})) AS guard_window_failures,
            extract(epoch FROM a.created_at - last_success.created_at)::float8 AS seconds_since_last_success,
            EXISTS (SELECT 1 FROM account_guards g
                     WHERE g.user_id = a.user_id AND g.guarded_until <= now() AND g.released_at IS NULL) AS guard_lapsed
       FROM a LEFT JOIN LATERAL (
              SELECT p.created_at FROM login_attempts p
               WHERE p.user_id = a.user_id AND p.success AND p.id < a.id
               ORDER BY p.id DESC LIMIT 1) last_success ON true`;
}

/** Stores an attempt's risk score and its reasons (a re-score overwrites with the same). */
export async function updateLoginAttemptScore(db: Queryable, id: string, score: number, reasons: unknown[]): Promise<void> {
  await db.query('UPDATE login_attempts SET risk_score = $2, risk_reasons = $3, scored_at = now() WHERE id = $1', [
    id,
    score,
    JSON.stringify(reasons),
  ]);
}

/**
 * Stores an attempt's risk score and, in the same statement, records the event's
 * score-login reaction completed; stores nothing unless the reaction was still pending
 * (a duplicate delivery waits on the row lock, then finds it completed). Returns
 * whether it stored.
 */
export async function storeLoginAttemptScoreCompletingReaction(db: Queryable, id: string, score: number, reasons: unknown[], eventId: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'store-login-attempt-score-completing-reaction',
    text: `WITH completed AS (
       UPDATE reactions SET completed_at = now()
        WHERE event_id = $4 AND job_name = 'score-login' AND completed_at IS NULL RETURNING 1)
     UPDATE login_attempts SET risk_score = $2, risk_reasons = $3, scored_at = now()
      WHERE id = $1 AND EXISTS (SELECT FROM completed)`,
    values: [id, score, JSON.stringify(reasons), eventId],
  });
  return rowCount === 1;
}

/** Whether the account with this email ever signed in successfully from this IP's prefix. */
export async function hasEmailSignedInFromIpPrefix(db: Queryable, email: string, ip: string | undefined): Promise<boolean> {
  const { rows } = await db.query<{ known: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM users u JOIN login_attempts a ON a.user_id = u.id
                     WHERE u.email = $1 AND a.success AND a.disowned_at IS NULL AND a.ip_prefix = login_ip_prefix($2::inet)) AS known`,
    [email, ip ?? null],
  );
  return rows[0]!.known;
}

/** Whether the account ever signed in successfully from this IP's prefix (login_ip_prefix). */
export async function hasSignedInFromIpPrefix(db: Queryable, userId: string, ip: string | undefined): Promise<boolean> {
  const { rows } = await db.query<{ known: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM login_attempts
                     WHERE user_id = $1 AND success AND disowned_at IS NULL AND ip_prefix = login_ip_prefix($2::inet)) AS known`,
    [userId, ip ?? null],
  );
  return rows[0]!.known;
}

/** The client address of one attempt (for the audit row of a login event). */
export async function findLoginAttemptIp(db: Queryable, id: string): Promise<string | null> {
  const { rows } = await db.query<{ ip: string | null }>('SELECT host(ip_addr) AS ip FROM login_attempts WHERE id = $1', [id]);
  return rows[0]?.ip ?? null;
}

/** Deletes up to `limit` attempts older than `days`; returns how many. */
export async function deleteLoginAttemptsOlderThan(db: Queryable, days: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM login_attempts WHERE id IN (
       SELECT id FROM login_attempts WHERE created_at < now() - make_interval(days => $1)
        LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return rowCount ?? 0;
}

export interface LoginAttemptSummary {
  id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
}

/** Where and when attempts came from (for the notices about them); missing ids are absent. */
export async function findLoginAttemptSummaries(db: Queryable, ids: string[]): Promise<LoginAttemptSummary[]> {
  const { rows } = await db.query<LoginAttemptSummary>(
    'SELECT id, host(ip_addr) AS ip, user_agent, created_at FROM login_attempts WHERE id = ANY($1::bigint[])',
    [ids],
  );
  return rows;
}

/** A user's sign-in attempts, newest first, as the data export shows them. */
export async function findLoginHistoryOfUser(db: Queryable, userId: string, limit: number) {
  const { rows } = await db.query<{ created_at: Date; success: boolean; reason: string | null; ip: string | null; user_agent: string | null }>(
    `SELECT created_at, success, reason, host(ip_addr) AS ip, user_agent
       FROM login_attempts WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
    [userId, limit],
  );
  return rows;
}

/**
 * "This wasn't me" for one sign-in: that attempt and the account's later successes from
 * the same network stop counting as known (scoring, the guard, the login limits).
 */
export async function disownSignIn(db: Queryable, userId: string, attemptId: string): Promise<void> {
  await db.query(
    `UPDATE login_attempts SET disowned_at = now()
      WHERE user_id = $1 AND success AND disowned_at IS NULL
        AND (id = $2 OR (id > $2 AND ip_prefix IS NOT DISTINCT FROM (SELECT ip_prefix FROM login_attempts WHERE id = $2 AND user_id = $1)))`,
    [userId, attemptId],
  );
}

export interface ScoredLoginAttempt {
  id: string;
  created_at: Date;
  success: boolean;
  reason: string | null;
  ip: string | null;
  user_agent: string | null;
  risk_score: number | null;
  risk_reasons: unknown;
  scored_at: Date | null;
}

/** The user's latest sign-in attempts with their anomaly scores, newest first (for operators). */
export async function findRecentLoginAttemptsOfUser(db: Queryable, userId: string, limit: number): Promise<ScoredLoginAttempt[]> {
  const { rows } = await db.query<ScoredLoginAttempt>(
    `SELECT id::text, created_at, success, reason, host(ip_addr) AS ip, user_agent, risk_score, risk_reasons, scored_at
       FROM login_attempts WHERE coalesce(user_id, '00000000-0000-0000-0000-000000000000'::uuid) = $1
      ORDER BY login_attempts.created_at DESC, login_attempts.id DESC LIMIT $2`,
    [userId, limit],
  );
  return rows;
}
