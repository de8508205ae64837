import type { Queryable } from '../pool.js';

// Storing, finding and consuming reset tokens: link-tokens.ts, shared with email_verification_tokens.

/** Expires every unconsumed reset of the user (after one of them was used). */
export async function expirePasswordResetsOfUser(db: Queryable, userId: string): Promise<void> {
  await db.query('UPDATE password_resets SET expires_at = now() WHERE user_id = $1 AND consumed_at IS NULL AND expires_at > now()', [userId]);
}
