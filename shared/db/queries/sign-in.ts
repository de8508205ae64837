import type { DomainEvent } from '../../events.js';
import type { Queryable } from '../pool.js';

export interface SignIn {
  userId: string;
  email: string;
  ip: string | undefined;
  userAgent: string | undefined;
  ttlSeconds: number;
  refreshTokenHash: string;
  /** The LoginSucceeded event; data.session_id and data.attempt_id are filled in here. */
  event: DomainEvent;
}

export interface RecordedSignIn {
  session_id: string;
  expires_at: Date;
  attempt_id: string;
}

/**
 * A successful sign-in in one statement, so one round trip and atomic without BEGIN and
 * COMMIT: share-locks the user (users before sessions before refresh_tokens) and, unless a
 * password reset is required, inserts the session, its refresh token, the login_attempts
 * row and the LoginSucceeded outbox row. No row back means a reset is required (a
 * concurrent "this wasn't me" committed first; one that commits later sees this session).
 * While argon2 keeps every core busy, each round trip costs a wake-up on both sides, which
 * is what bounded login throughput (bench/); prepared by name for the same reason.
 */
export async function recordSignIn(db: Queryable, signIn: SignIn): Promise<RecordedSignIn | undefined> {
  const { rows } = await db.query<RecordedSignIn>({
    name: 'record-sign-in',
    text: `WITH u AS (SELECT id FROM users WHERE id = $1 AND NOT password_reset_required FOR SHARE),
       s AS (INSERT INTO sessions (user_id, user_agent, ip_addr, expires_at)
             SELECT id, $2, $3::inet, now() + make_interval(secs => $4) FROM u RETURNING id, expires_at),
       r AS (INSERT INTO refresh_tokens (session_id, token_hash, expires_at) SELECT id, $5, expires_at FROM s),
       a AS (INSERT INTO login_attempts (user_id, email, ip_addr, user_agent, success, reason)
             SELECT id, $6, $3::inet, $2, true, NULL FROM u RETURNING id),
       o AS (INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, created_at)
             SELECT $7, $1, 'user.events', $8,
                    jsonb_set(jsonb_set($9::jsonb, '{data,session_id}', to_jsonb(s.id::text)), '{data,attempt_id}', to_jsonb(a.id::text)),
                    $10
               FROM s, a)
     SELECT s.id AS session_id, s.expires_at, a.id AS attempt_id FROM s, a`,
    values: [
      signIn.userId,
      signIn.userAgent ?? null,
      signIn.ip ?? null,
      signIn.ttlSeconds,
      signIn.refreshTokenHash,
      signIn.email,
      signIn.event.event_id,
      signIn.event.type,
      JSON.stringify(signIn.event),
      signIn.event.occurred_at,
    ],
  });
  return rows[0];
}
