/**
 * The large database of `npm run bench -- scale`, filled by SQL (generate_series), and
 * the nearly empty one it is compared with. Row i of a table is i/N of the way back
 * through that table's time span, and each span is its retention plus one day, so the
 * oldest day of every purged table is past its retention: the maintenance purge has a
 * day's worth of expired rows to remove in both databases. The nearly empty database
 * holds only that expired day (and the users its sessions belong to), so the purge does
 * the same work in both and only the rows beside it differ.
 */
import type { Pool } from '../shared/db/pool.js';

export interface FillCounts {
  users: number;
  attempts: number;
  audit: number;
  outbox: number;
  /** Login attempts of one account (the heavy one), in both databases. */
  heavyAttempts: number;
}

/** The sizes, times BENCH_SCALE (1 by default; 0.01 for a quick try). */
export function fillCounts(scale: number): FillCounts {
  return {
    users: Math.round(1_000_000 * scale),
    attempts: Math.round(10_000_000 * scale),
    audit: Math.round(5_000_000 * scale),
    outbox: Math.round(1_000_000 * scale),
    heavyAttempts: 100_000,
  };
}

/** Days each table's rows span: its retention (the defaults) plus the expired day. */
const SPAN_DAYS = { sessions: 365, attempts: 91, audit: 366, outbox: 8 } as const;
/** Sessions ended longer ago than SESSION_RETENTION_DAYS (30) are purged. */
const SESSION_RETENTION_DAYS = 30;

/** A user's id and address from its number, the same in every table. */
export const userId = (i: number | string) => `md5('u' || ${i})::uuid`;
export const scaleEmail = (i: number) => `scale-${i}@scale.example`;
/** The account that gets FillCounts.heavyAttempts attempts. */
export const HEAVY_USER = 1;
/** Users 1 to this one are in the nearly empty database too: more than 100 pages of 50. */
const EMPTY_SIDE_USERS = 6_000;

/** An admin search prefix that matches about as many users on both sides: the last hundred (and their longer namesakes). */
export function comparablePrefix(counts: FillCounts): string {
  return `scale-${Math.floor(counts.users / 100) - 1}`;
}

interface Range {
  from: number;
  to: number;
}

/** Which rows of a table of `n` rows a side holds: all of them, or only the expired day (the oldest 1/span). */
function rangeOf(n: number, spanDays: number, side: 'full' | 'empty'): Range {
  return side === 'full' ? { from: 1, to: n } : { from: Math.floor((n * (spanDays - 1)) / spanDays) + 1, to: n };
}

export interface FillStep {
  table: string;
  rows: number;
  ms: number;
}

/**
 * Fills a migrated database: `full` with every row, `empty` with the expired day only.
 * Every user has the same password hash. Returns the time of each statement.
 */
export async function fill(pool: Pool, counts: FillCounts, side: 'full' | 'empty', passwordHash: string, progress: (line: string) => void): Promise<FillStep[]> {
  const steps: FillStep[] = [];
  async function step(table: string, sql: string, values: unknown[] = []): Promise<void> {
    const started = performance.now();
    const { rowCount } = await pool.query(sql, values);
    const ms = performance.now() - started;
    steps.push({ table, rows: rowCount ?? 0, ms });
    progress(`scale: ${side}: ${table}: ${rowCount ?? 0} rows in ${(ms / 1000).toFixed(1)} s`);
  }
  const n = counts.users;
  const sessions = rangeOf(n, SPAN_DAYS.sessions, side);
  // The full side has every user; the empty one those its expired sessions belong to, and
  // the first EMPTY_SIDE_USERS (the heavy one among them), so that its 100th page of the
  // admin listing is not empty either.
  const ended = rangeOf(n, SPAN_DAYS.sessions, 'empty').from;
  const upTo = side === 'full' ? n : Math.min(n, EMPTY_SIDE_USERS);
  await step(
    'users',
    `INSERT INTO users (id, email, password_hash, email_verified, created_at, updated_at)
     SELECT ${userId('i')}, 'scale-' || i || '@scale.example', $4, i % 3 <> 0, now() - make_interval(secs => i * 31536000.0 / $3), now()
       FROM generate_series(1, $3::int) i WHERE i <= $1 OR i >= $2`,
    [upTo, sessions.from, n, passwordHash],
  );
  await step(
    'user_profiles',
    `INSERT INTO user_profiles (user_id, display_name) SELECT id, 'Scale user' FROM users WHERE email LIKE '%@scale.example'`,
  );
  // One session per user with its refresh token; those from `ended` on expired 30 to 31 days ago.
  await step(
    'sessions',
    `INSERT INTO sessions (id, user_id, user_agent, ip_addr, created_at, expires_at, last_used_at)
     SELECT md5('s' || i)::uuid, ${userId('i')}, 'scale-bench', '10.0.0.1',
            now() - make_interval(days => 60), 
            CASE WHEN i >= $3 THEN now() - make_interval(days => ${SESSION_RETENTION_DAYS}) - make_interval(secs => (i - $3) * 86400.0 / ($2 - $3 + 1))
                 ELSE now() + interval '30 days' END,
            now() - interval '1 day'
       FROM generate_series($1::int, $2::int) i`,
    [sessions.from, sessions.to, ended],
  );
  await step(
    'refresh_tokens',
    `INSERT INTO refresh_tokens (id, session_id, token_hash, issued_at, expires_at)
     SELECT md5('r' || s.id::text)::uuid, s.id, encode(sha256(convert_to('r' || s.id::text, 'UTF8')), 'hex'), s.created_at, s.expires_at
       FROM sessions s WHERE s.user_agent = 'scale-bench'`,
  );
  const attempts = rangeOf(counts.attempts, SPAN_DAYS.attempts, side);
  await step(
    'login_attempts',
    `INSERT INTO login_attempts (user_id, email, ip_addr, user_agent, success, reason, created_at, risk_score, scored_at)
     SELECT ${userId('(i % $3) + 1')}, 'scale-' || ((i % $3) + 1) || '@scale.example',
            ('10.' || (i % 200) || '.' || (i % 250) || '.1')::inet, 'scale-bench',
            i % 10 <> 0, CASE WHEN i % 10 = 0 THEN 'invalid_credentials' END,
            now() - make_interval(secs => i * ${SPAN_DAYS.attempts * 86400}.0 / $4), 0, now()
       FROM generate_series($1::int, $2::int) i`,
    [attempts.from, attempts.to, n, counts.attempts],
  );
  await step(
    'login_attempts (heavy account)',
    `INSERT INTO login_attempts (user_id, email, ip_addr, user_agent, success, reason, created_at, risk_score, scored_at)
     SELECT ${userId(HEAVY_USER)}, '${scaleEmail(HEAVY_USER)}', ('10.1.' || (i % 250) || '.1')::inet, 'scale-bench',
            i % 10 <> 0, CASE WHEN i % 10 = 0 THEN 'invalid_credentials' END, now() - make_interval(secs => i * 7776000.0 / $1), 0, now()
       FROM generate_series(1, $1::int) i`,
    [counts.heavyAttempts],
  );
  const audit = rangeOf(counts.audit, SPAN_DAYS.audit, side);
  await step(
    'audit_logs',
    `INSERT INTO audit_logs (user_id, action, ip_addr, metadata, created_at, event_id)
     SELECT ${userId('(i % $3) + 1')}, (ARRAY['user.login', 'user.login_failed', 'user.update_profile', 'session.revoke'])[i % 4 + 1],
            '10.0.0.1', '{}'::jsonb, now() - make_interval(secs => i * ${SPAN_DAYS.audit * 86400}.0 / $4), md5('a' || i)::uuid
       FROM generate_series($1::int, $2::int) i`,
    [audit.from, audit.to, n, counts.audit],
  );
  const outbox = rangeOf(counts.outbox, SPAN_DAYS.outbox, side);
  await step(
    'outbox (published)',
    `INSERT INTO outbox (aggregate_id, topic, type, payload, created_at, published_at, reactions_at, event_id)
     SELECT ${userId('(i % $3) + 1')}, 'user.events', 'LoginSucceeded', '{}'::jsonb, t, t, t, md5('o' || i)::uuid
       FROM generate_series($1::int, $2::int) i, LATERAL (SELECT now() - make_interval(secs => i * ${SPAN_DAYS.outbox * 86400}.0 / $4)) AS at(t)`,
    [outbox.from, outbox.to, n, counts.outbox],
  );
  const started = performance.now();
  await pool.query('ANALYZE');
  steps.push({ table: 'ANALYZE', rows: 0, ms: performance.now() - started });
  return steps;
}
