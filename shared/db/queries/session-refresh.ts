import type { UserStatus } from './users.js';
import type { Queryable } from '../pool.js';
import { roleNamesOfSql } from './roles.js';

/**
 * The statements of one refresh (shared/domain/refresh-session.ts), in the house lock
 * order: the user (shared), then the session (for update, which serialises refreshes of
 * one session), then the refresh token. A usable token is rotated by one statement
 * (rotateUsableRefreshToken); the others are the statement-by-statement transaction that
 * judges everything else (grace retries, reuse, refusals). All are prepared by name.
 */

export interface RefreshTokenOwner {
  user_id: string;
  status: UserStatus;
  session_id: string;
  roles: string[];
  amr: string[];
}

/**
 * Finds the session and user a refresh token belongs to (consumed and revoked tokens
 * too) and share-locks the user row only: a concurrent "revoke every session" holds it
 * for update and is either seen here or waits for this refresh.
 */
export async function lockOwnerOfRefreshToken(db: Queryable, tokenHash: string): Promise<RefreshTokenOwner | undefined> {
  const { rows } = await db.query<RefreshTokenOwner>({
    name: 'refresh-lock-owner',
    text: `SELECT u.id AS user_id, u.status, s.id AS session_id, s.amr, ${roleNamesOfSql('u.id')} AS roles
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
            WHERE t.token_hash = $1
              FOR SHARE OF u`,
    values: [tokenHash],
  });
  return rows[0];
}

/**
 * Locks a session for a refresh and tells whether it is live: not revoked, within its
 * absolute lifetime (expires_at) and used within the last `idleSeconds`.
 */
export async function lockSessionForRefresh(db: Queryable, sessionId: string, idleSeconds: number): Promise<boolean> {
  const { rows } = await db.query<{ live: boolean }>({
    name: 'refresh-lock-session',
    text: `SELECT revoked_at IS NULL AND expires_at > now() AND last_used_at > now() - make_interval(secs => $2) AS live
             FROM sessions WHERE id = $1 FOR UPDATE`,
    values: [sessionId, idleSeconds],
  });
  return rows[0]?.live ?? false;
}

/** A refresh token as a refresh sees it, with its successor when it has one. */
export interface RefreshTokenState {
  id: string;
  session_id: string;
  consumed: boolean;
  revoked: boolean;
  /** Not past its expires_at. */
  live: boolean;
  /** Consumed less than the grace ago (measured when this statement started, after any lock wait). */
  within_grace: boolean;
  successor_hash: string | null;
  /** The successor exists and is neither consumed, revoked nor expired. */
  successor_unused: boolean;
}

/**
 * Locks a refresh token (after its session: the lock order) and reads its successor.
 * A statement of its own after the session lock, so that under READ COMMITTED it sees
 * what the refresh that held that lock committed.
 */
export async function lockRefreshTokenWithSuccessor(db: Queryable, tokenHash: string, graceSeconds: number): Promise<RefreshTokenState | undefined> {
  const { rows } = await db.query<RefreshTokenState>({
    name: 'refresh-lock-token',
    text: `SELECT t.id, t.session_id, t.consumed_at IS NOT NULL AS consumed, t.revoked_at IS NOT NULL AS revoked,
                  t.expires_at > now() AS live,
                  coalesce(t.consumed_at > statement_timestamp() - make_interval(secs => $2), false) AS within_grace,
                  c.token_hash AS successor_hash,
                  coalesce(c.consumed_at IS NULL AND c.revoked_at IS NULL AND c.expires_at > now(), false) AS successor_unused
             FROM refresh_tokens t LEFT JOIN refresh_tokens c ON c.parent_id = t.id
            WHERE t.token_hash = $1
              FOR UPDATE OF t`,
    values: [tokenHash, graceSeconds],
  });
  return rows[0];
}

/** What a one-statement rotation returns: whose token it was. */
export interface RotatedRefresh {
  user_id: string;
  session_id: string;
  /** The user's role names, for the access token's `roles` claim. */
  roles: string[];
  /** The session's amr, for the access token's `amr` claim. */
  amr: string[];
}

export interface UsableRotation {
  tokenHash: string;
  successorHash: string;
  /** The session's idle timeout, which is also how long the successor lives unused. */
  idleSeconds: number;
}

/**
 * The whole refresh of a usable token in one statement, run on its own (its own
 * transaction, one round trip): share-locks the active user, locks the live session,
 * consumes the token (neither consumed, revoked nor expired), marks the session used and
 * issues the successor. The locks follow the house order because each step reads the
 * rows the previous one locked (a row is locked only once the rows it joins have been
 * produced), and a lock wait re-checks that row's conditions on its newest version, so a
 * token a concurrent refresh consumed meanwhile is not consumed again. Undefined when
 * anything is not as a plain rotation needs (nothing is then changed): the caller then
 * runs the statement-by-statement transaction, which tells a grace retry, a reuse and a
 * refusal apart.
 */
export async function rotateUsableRefreshToken(db: Queryable, rotation: UsableRotation): Promise<RotatedRefresh | undefined> {
  const { rows } = await db.query<RotatedRefresh>({
    name: 'refresh-rotate-usable',
    text: `WITH owner AS (
             SELECT u.id AS user_id, s.id AS session_id, t.id AS token_id
               FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
              WHERE t.token_hash = $1 AND u.status = 'active'
                FOR SHARE OF u),
           live AS (
             SELECT o.user_id, s.id AS session_id, o.token_id, s.amr
               FROM owner o JOIN sessions s ON s.id = o.session_id
              WHERE s.revoked_at IS NULL AND s.expires_at > now() AND s.last_used_at > now() - make_interval(secs => $3)
                FOR UPDATE OF s),
           consumed AS (
             UPDATE refresh_tokens t SET consumed_at = now()
               FROM live l
              WHERE t.id = l.token_id AND t.consumed_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()
             RETURNING t.id, t.session_id, l.user_id),
           used AS (
             UPDATE sessions s SET last_used_at = now()
               FROM consumed c
              WHERE s.id = c.session_id
             RETURNING s.id, s.expires_at),
           issued AS (
             INSERT INTO refresh_tokens (session_id, parent_id, token_hash, expires_at)
             SELECT c.session_id, c.id, $2, least(u.expires_at, now() + make_interval(secs => $3))
               FROM consumed c JOIN used u ON u.id = c.session_id
             RETURNING session_id)
         SELECT c.user_id, i.session_id, ${roleNamesOfSql('c.user_id')} AS roles, l.amr
           FROM issued i JOIN consumed c ON c.session_id = i.session_id JOIN live l ON l.session_id = c.session_id`,
    values: [rotation.tokenHash, rotation.successorHash, rotation.idleSeconds],
  });
  return rows[0];
}

export interface Rotation {
  tokenId: string;
  sessionId: string;
  successorHash: string;
  /** The successor expires after this long unused, and never after its session. */
  idleSeconds: number;
}

/**
 * Consumes a refresh token, issues its successor (chained by parent_id) and marks the
 * session used, in one statement. False when the token was already consumed.
 */
export async function rotateRefreshToken(db: Queryable, rotation: Rotation): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'refresh-rotate',
    text: `WITH consumed AS (UPDATE refresh_tokens SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL RETURNING id, session_id),
                used AS (UPDATE sessions SET last_used_at = now() WHERE id = $2 RETURNING expires_at)
           INSERT INTO refresh_tokens (session_id, parent_id, token_hash, expires_at)
           SELECT c.session_id, c.id, $3, least(u.expires_at, now() + make_interval(secs => $4)) FROM consumed c, used u`,
    values: [rotation.tokenId, rotation.sessionId, rotation.successorHash, rotation.idleSeconds],
  });
  return rowCount === 1;
}

/**
 * Revokes a session and every refresh token of it (those in id order). The caller holds
 * the session's lock already, so the tokens are locked after it whatever order the
 * statement's parts run in.
 */
export async function revokeSessionWithRefreshTokens(db: Queryable, sessionId: string): Promise<void> {
  await db.query(
    `WITH s AS (UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL)
     UPDATE refresh_tokens SET revoked_at = now() WHERE id IN (
       SELECT id FROM refresh_tokens WHERE session_id = $1 AND revoked_at IS NULL ORDER BY id FOR UPDATE)`,
    [sessionId],
  );
}
