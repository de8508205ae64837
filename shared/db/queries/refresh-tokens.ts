import type { Queryable } from '../pool.js';

export async function insertRefreshToken(db: Queryable, sessionId: string, tokenHash: string, expiresAt: Date): Promise<void> {
  await db.query('INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, $3)', [
    sessionId,
    tokenHash,
    expiresAt,
  ]);
}
