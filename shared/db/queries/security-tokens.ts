import type { Queryable } from '../pool.js';

export type SecurityTokenPurpose = 'not_me';

/** Records new tokens (hashes only) in one statement, each living ttlSeconds; `attemptId` is the sign-in a not_me token is about. */
export async function insertSecurityTokens(
  db: Queryable,
  purpose: SecurityTokenPurpose,
  tokens: Array<{ userId: string; tokenHash: string; attemptId?: string | undefined }>,
  ttlSeconds: number,
): Promise<void> {
  if (tokens.length === 0) return;
  await db.query(
    `INSERT INTO security_tokens (user_id, purpose, token_hash, expires_at, attempt_id)
     SELECT user_id, $3, token_hash, now() + make_interval(secs => $4), attempt_id
       FROM unnest($1::uuid[], $2::text[], $5::bigint[]) AS t(user_id, token_hash, attempt_id)`,
    [tokens.map((t) => t.userId), tokens.map((t) => t.tokenHash), purpose, ttlSeconds, tokens.map((t) => t.attemptId ?? null)],
  );
}

/** The owner of a live (unconsumed, unexpired) token, read without a lock. */
export async function findLiveSecurityTokenOwner(
  db: Queryable,
  purpose: SecurityTokenPurpose,
  tokenHash: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ user_id: string }>(
    `SELECT user_id FROM security_tokens
      WHERE token_hash = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > now()`,
    [tokenHash, purpose],
  );
  return rows[0]?.user_id;
}

/**
 * Consumes a live token of this user: the sign-in it is about (null when it names none),
 * or undefined when it was used, expired or unknown meanwhile.
 */
export async function consumeSecurityToken(
  db: Queryable,
  purpose: SecurityTokenPurpose,
  tokenHash: string,
  userId: string,
): Promise<{ attempt_id: string | null } | undefined> {
  const { rows } = await db.query<{ attempt_id: string | null }>(
    `UPDATE security_tokens SET consumed_at = now()
      WHERE token_hash = $1 AND purpose = $2 AND user_id = $3 AND consumed_at IS NULL AND expires_at > now()
      RETURNING attempt_id`,
    [tokenHash, purpose, userId],
  );
  return rows[0];
}
