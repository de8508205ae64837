import type { Queryable } from '../pool.js';

export interface LiveToken {
  id: string;
  user_id: string;
}

export interface NewToken {
  userId: string;
  tokenHash: string;
}

/**
 * Stores new verification tokens (hashes only) valid for ttlSeconds and expires each
 * user's older unconsumed ones, so only the newest link works; one user per call at
 * most once. One statement: the outer UPDATE does not see the rows its CTE inserts.
 */
export async function insertEmailVerificationTokens(db: Queryable, tokens: NewToken[], ttlSeconds: number): Promise<void> {
  if (tokens.length === 0) return;
  await db.query(
    `WITH issued AS (
       INSERT INTO email_verification_tokens (user_id, token_hash, expires_at)
       SELECT user_id, token_hash, now() + make_interval(secs => $3)
         FROM unnest($1::uuid[], $2::text[]) AS t(user_id, token_hash)
       RETURNING user_id)
     UPDATE email_verification_tokens SET expires_at = now()
      WHERE user_id IN (SELECT user_id FROM issued) AND consumed_at IS NULL AND expires_at > now()`,
    [tokens.map((t) => t.userId), tokens.map((t) => t.tokenHash), ttlSeconds],
  );
}

/** The token with this hash when it is neither consumed nor expired. */
export async function findLiveEmailVerificationToken(db: Queryable, tokenHash: string): Promise<LiveToken | undefined> {
  const { rows } = await db.query<LiveToken>(
    `SELECT id, user_id FROM email_verification_tokens
      WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > now()`,
    [tokenHash],
  );
  return rows[0];
}

/** Consumes a live token; false when it was consumed or expired meanwhile (single use). */
export async function consumeEmailVerificationToken(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE email_verification_tokens SET consumed_at = now()
      WHERE id = $1 AND consumed_at IS NULL AND expires_at > now()`,
    [id],
  );
  return rowCount === 1;
}

/** Seconds since the user's newest verification token was created (undefined: none). */
export async function secondsSinceLatestEmailVerificationToken(db: Queryable, userId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ seconds: number | null }>(
    `SELECT extract(epoch FROM now() - max(created_at))::float8 AS seconds
       FROM email_verification_tokens WHERE user_id = $1`,
    [userId],
  );
  return rows[0]?.seconds ?? undefined;
}
