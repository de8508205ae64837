import type { Queryable } from '../pool.js';

// Storing, finding and consuming these tokens: link-tokens.ts, shared with password_resets.

/** Seconds since the user's newest verification token was created (undefined: none). */
export async function secondsSinceLatestEmailVerificationToken(db: Queryable, userId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ seconds: number | null }>(
    `SELECT extract(epoch FROM now() - max(created_at))::float8 AS seconds
       FROM email_verification_tokens WHERE user_id = $1`,
    [userId],
  );
  return rows[0]?.seconds ?? undefined;
}
