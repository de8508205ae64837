import { EVENTS_EXCHANGE } from '../../broker/broker-topology.js';
import type { DomainEvent } from '../../events/event-schemas.js';
import type { Queryable } from '../pool.js';
import { roleNamesOfSql } from './roles.js';

export interface Session {
  id: string;
  user_id: string;
  expires_at: Date;
}

/** The session when it is live: not revoked, not expired, and its user active. */
export async function findLiveSession(db: Queryable, sessionId: string, userId: string): Promise<Session | undefined> {
  const { rows } = await db.query<Session>({
    name: 'find-live-session',
    text: `SELECT s.id, s.user_id, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
              AND u.status = 'active'`,
    values: [sessionId, userId],
  });
  return rows[0];
}

/** findLiveSession with the user's role names, read in the same statement: role checks judge the live session. */
export async function findLiveSessionWithRoles(db: Queryable, sessionId: string, userId: string): Promise<(Session & { roles: string[] }) | undefined> {
  const { rows } = await db.query<Session & { roles: string[] }>({
    name: 'find-live-session-with-roles',
    text: `SELECT s.id, s.user_id, s.expires_at, ${roleNamesOfSql('u.id')} AS roles
             FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
              AND u.status = 'active'`,
    values: [sessionId, userId],
  });
  return rows[0];
}

/**
 * Deletes up to `limit` sessions that expired or were revoked more than `days` ago,
 * with their refresh tokens (sessions locked first: the house lock order); returns both counts.
 */
export async function deleteEndedSessions(db: Queryable, days: number, limit: number): Promise<{ sessions: number; refreshTokens: number }> {
  const { rows } = await db.query<{ sessions: number; refresh_tokens: number }>(
    `WITH ended AS (
       SELECT id FROM sessions
        WHERE expires_at < now() - make_interval(days => $1) OR revoked_at < now() - make_interval(days => $1)
        LIMIT $2 FOR UPDATE SKIP LOCKED),
     tokens AS (DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM ended) RETURNING 1),
     gone AS (DELETE FROM sessions WHERE id IN (SELECT id FROM ended) RETURNING 1)
     SELECT (SELECT count(*) FROM gone)::int AS sessions, (SELECT count(*) FROM tokens)::int AS refresh_tokens`,
    [days, limit],
  );
  return { sessions: rows[0]?.sessions ?? 0, refreshTokens: rows[0]?.refresh_tokens ?? 0 };
}

/** Revokes every live session of a user, locking them in id order; returns their ids. */
export async function revokeSessionsOfUser(db: Queryable, userId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE sessions SET revoked_at = now() WHERE id IN (
       SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id FOR UPDATE)
     RETURNING id`,
    [userId],
  );
  return rows.map((row) => row.id);
}

/** One of a user's live sessions as its owner sees it; last_used_at is its newest refresh (or its start). */
export interface ActiveSession {
  id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
}

/** The user's live sessions (not revoked, not expired, not idle past the timeout), most recently used first. */
export async function findActiveSessionsOfUser(db: Queryable, userId: string, idleTimeoutSeconds: number): Promise<ActiveSession[]> {
  const { rows } = await db.query<ActiveSession>(
    `SELECT s.id, s.user_agent, host(s.ip_addr) AS ip, s.created_at, s.expires_at, s.last_used_at
       FROM sessions s
      WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
        AND s.last_used_at > now() - make_interval(secs => $2)
      ORDER BY s.last_used_at DESC, s.id`,
    [userId, idleTimeoutSeconds],
  );
  return rows;
}

/** Revokes one live session of this user; false when it is not theirs, not live or unknown. */
export async function revokeSessionOfUser(db: Queryable, userId: string, sessionId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE sessions SET revoked_at = now()
      WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()`,
    [sessionId, userId],
  );
  return rowCount === 1;
}

/** Revokes every live session of a user but one, locking them in id order; returns their ids. */
export async function revokeSessionsOfUserExcept(db: Queryable, userId: string, keptSessionId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE sessions SET revoked_at = now() WHERE id IN (
       SELECT id FROM sessions WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL ORDER BY id FOR UPDATE)
     RETURNING id`,
    [userId, keptSessionId],
  );
  return rows.map((row) => row.id);
}

/** Every session of a user, revoked and expired ones included, newest first (for the data export). */
export async function findSessionHistoryOfUser(db: Queryable, userId: string, limit: number) {
  const { rows } = await db.query<ActiveSession & { revoked_at: Date | null }>(
    `SELECT s.id, s.user_agent, host(s.ip_addr) AS ip, s.created_at, s.expires_at, s.revoked_at,
            greatest(s.created_at, (SELECT max(t.issued_at) FROM refresh_tokens t WHERE t.session_id = s.id)) AS last_used_at
       FROM sessions s WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.id LIMIT $2`,
    [userId, limit],
  );
  return rows;
}

/** Seconds since the session's sign-in (undefined for an unknown session). */
export async function secondsSinceSignIn(db: Queryable, sessionId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ seconds: number }>('SELECT extract(epoch FROM now() - created_at)::float8 AS seconds FROM sessions WHERE id = $1', [sessionId]);
  return rows[0]?.seconds;
}

/**
 * Keeps a user's live sessions (not revoked, not expired) to `keep`: revokes the least
 * recently used beyond it, with their refresh tokens and a SessionRevoked event each
 * (`revoked`, whose event_id and data.session_id are written here), in one statement.
 * Locks in the house order: the user (shared, as a sign-in does), then the sessions in id
 * order, then their refresh tokens. Returns the revoked session ids.
 */
export async function revokeSessionsBeyond(db: Queryable, userId: string, keep: number, revoked: DomainEvent<'SessionRevoked'>): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'revoke-sessions-beyond',
    text: `WITH u AS (SELECT id FROM users WHERE id = $1 FOR SHARE),
       over AS (SELECT id FROM sessions WHERE id IN (
                  SELECT s.id FROM sessions s JOIN u ON s.user_id = u.id
                   WHERE s.revoked_at IS NULL AND s.expires_at > now()
                   ORDER BY s.last_used_at DESC, s.created_at DESC, s.id DESC OFFSET $2)
                ORDER BY id FOR UPDATE),
       rv AS (UPDATE sessions SET revoked_at = now() WHERE id IN (SELECT id FROM over) AND revoked_at IS NULL RETURNING id),
       rt AS (UPDATE refresh_tokens SET revoked_at = now() WHERE session_id IN (SELECT id FROM rv) AND revoked_at IS NULL),
       ev AS (SELECT id, gen_random_uuid() AS event_id FROM rv),
       o AS (INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, created_at)
             SELECT ev.event_id, $1, $3, 'SessionRevoked',
                    jsonb_set(jsonb_set($4::jsonb, '{event_id}', to_jsonb(ev.event_id::text)), '{data,session_id}', to_jsonb(ev.id::text)), $5
               FROM ev ORDER BY ev.id)
     SELECT id FROM rv ORDER BY id`,
    values: [userId, keep, EVENTS_EXCHANGE, JSON.stringify(revoked), revoked.occurred_at],
  });
  return rows.map((row) => row.id);
}
