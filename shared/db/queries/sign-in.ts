import { EVENTS_EXCHANGE } from '../../broker/broker-topology.js';
import type { EventEnvelope } from '../../events/event-schemas.js';
import type { Queryable } from '../pool.js';
import { roleNamesOfSql } from './roles.js';
import type { SignInState } from './users.js';

export interface SignIn {
  userId: string;
  email: string;
  ip: string | undefined;
  userAgent: string | undefined;
  ttlSeconds: number;
  /** The hash the password was verified against: the session opens only while it is still the stored one. */
  verifiedHash: string;
  refreshTokenHash: string;
  /** RFC 8176 methods the sign-in used (pwd, otp, hwk, mfa ...), kept with the session for its refreshes. */
  amr: readonly string[];
  /** The LoginSucceeded event without its data: data.session_id and data.attempt_id are written here. */
  event: EventEnvelope<'LoginSucceeded'>;
}

export interface RecordedSignIn {
  session_id: string;
  expires_at: Date;
  attempt_id: string;
  /** The user's role names, for the access token's `roles` claim. */
  roles: string[];
}

/**
 * A successful sign-in in one statement, so one round trip and atomic without BEGIN and
 * COMMIT: share-locks the user (users before sessions before refresh_tokens) and, while
 * the account is active, its stored hash is still the one the password was verified
 * against and no password reset is required, inserts the session, its refresh token,
 * the login_attempts row and the LoginSucceeded outbox row. The state it read comes back
 * either way, with `recorded` only when the session opened: a password reset or change,
 * a "this wasn't me", a lock or a deletion that committed during the password check
 * refuses it; one that commits later sees this session and revokes it. Undefined when
 * the user row is gone. While argon2 keeps every core busy, each round trip costs a
 * wake-up on both sides, which is what bounded login throughput (bench/); prepared by
 * name for the same reason.
 */
export async function recordSignIn(db: Queryable, signIn: SignIn): Promise<(SignInState & { recorded?: RecordedSignIn }) | undefined> {
  const { rows } = await db.query<SignInState & { session_id: string | null; expires_at: Date | null; attempt_id: string | null; roles: string[] }>({
    name: 'record-sign-in',
    text: `WITH u AS (SELECT id, status, password_reset_required, password_hash = $11 AS password_unchanged FROM users WHERE id = $1 FOR SHARE),
       ok AS (SELECT id FROM u WHERE status = 'active' AND password_unchanged AND NOT password_reset_required),
       s AS (INSERT INTO sessions (user_id, user_agent, ip_addr, expires_at, amr)
             SELECT id, $2, $3::inet, now() + make_interval(secs => $4), $13::text[] FROM ok RETURNING id, expires_at),
       r AS (INSERT INTO refresh_tokens (session_id, token_hash, expires_at) SELECT id, $5, expires_at FROM s),
       a AS (INSERT INTO login_attempts (user_id, email, ip_addr, user_agent, success, reason)
             SELECT id, $6, $3::inet, $2, true, NULL FROM ok RETURNING id),
       o AS (INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, created_at)
             SELECT $7, $1, $12, $8, jsonb_set($9::jsonb, '{data}', jsonb_build_object('session_id', s.id::text, 'attempt_id', a.id::text)), $10
               FROM s, a)
     SELECT u.status, u.password_reset_required, u.password_unchanged, s.id AS session_id, s.expires_at, a.id AS attempt_id,
            ${roleNamesOfSql('u.id')} AS roles
       FROM u LEFT JOIN s ON true LEFT JOIN a ON true`,
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
      signIn.verifiedHash,
      EVENTS_EXCHANGE,
      signIn.amr,
    ],
  });
  const row = rows[0];
  if (!row) return undefined;
  const { session_id, expires_at, attempt_id, roles, ...state } = row;
  return session_id && expires_at && attempt_id ? { ...state, recorded: { session_id, expires_at, attempt_id, roles } } : state;
}
