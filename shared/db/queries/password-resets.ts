import type { Queryable } from '../pool.js';

export interface LivePasswordReset {
  id: string;
  user_id: string;
}

/**
 * Stores new reset tokens (hashes only) valid for ttlSeconds and expires each user's
 * older unconsumed ones, so only the newest link works; one user per call at most
 * once. One statement: the outer UPDATE does not see the rows its CTE inserts.
 */
export async function insertPasswordResets(db: Queryable, resets: Array<{ userId: string; tokenHash: string }>, ttlSeconds: number): Promise<void> {
  if (resets.length === 0) return;
  await db.query(
    `WITH issued AS (
       INSERT INTO password_resets (user_id, token_hash, expires_at)
       SELECT user_id, token_hash, now() + make_interval(secs => $3)
         FROM unnest($1::uuid[], $2::text[]) AS t(user_id, token_hash)
       RETURNING user_id)
     UPDATE password_resets SET expires_at = now()
      WHERE user_id IN (SELECT user_id FROM issued) AND consumed_at IS NULL AND expires_at > now()`,
    [resets.map((r) => r.userId), resets.map((r) => r.tokenHash), ttlSeconds],
  );
}

/** Expires every unconsumed reset of the user (after one of them was used). */
export async function expirePasswordResetsOfUser(db: Queryable, userId: string): Promise<void> {
  await db.query('UPDATE password_resets SET expires_at = now() WHERE user_id = $1 AND consumed_at IS NULL AND expires_at > now()', [userId]);
}

/** The reset with this hash when it is neither consumed nor expired. */
export async function findLivePasswordReset(db: Queryable, tokenHash: string): Promise<LivePasswordReset | undefined> {
  const { rows } = await db.query<LivePasswordReset>(
    'SELECT id, user_id FROM password_resets WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > now()',
    [tokenHash],
  );
  return rows[0];
}

/** Consumes a live reset; false when it was consumed or expired meanwhile (single use). */
export async function consumePasswordReset(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE password_resets SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL AND expires_at > now()',
    [id],
  );
  return rowCount === 1;
}
