import type { Queryable } from '../pool.js';

/** Revokes every unrevoked refresh token of a user's sessions, locking them in id order; returns how many. */
export async function revokeRefreshTokensOfUser(db: Queryable, userId: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE refresh_tokens SET revoked_at = now() WHERE id IN (
       SELECT t.id FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
        WHERE s.user_id = $1 AND t.revoked_at IS NULL ORDER BY t.id FOR UPDATE OF t)`,
    [userId],
  );
  return rowCount ?? 0;
}

/** Revokes the unrevoked refresh tokens of these sessions, locking them in id order; returns how many. */
export async function revokeRefreshTokensOfSessions(db: Queryable, sessionIds: string[]): Promise<number> {
  if (sessionIds.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE refresh_tokens SET revoked_at = now() WHERE id IN (
       SELECT id FROM refresh_tokens WHERE session_id = ANY($1::uuid[]) AND revoked_at IS NULL ORDER BY id FOR UPDATE)`,
    [sessionIds],
  );
  return rowCount ?? 0;
}
