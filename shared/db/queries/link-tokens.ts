import pg from 'pg';
import type { PoolClient, Queryable } from '../pool.js';

/**
 * The tables of tokens mailed as links (verification, password reset), which share one
 * life: stored as hashes, only the newest of a user's works, valid until expires_at,
 * single use. The maintenance purge removes them once spent (spent-tokens.ts).
 */
export type LinkTokenTable = 'email_verification_tokens' | 'password_resets';

export interface NewLinkToken {
  userId: string;
  tokenHash: string;
}

export interface LiveLinkToken {
  id: string;
  user_id: string;
}

/**
 * Stores new tokens (hashes only) valid for ttlSeconds and expires each user's older
 * unconsumed ones, so only the newest link works; one user per call at most once. In
 * the caller's transaction, which first takes a lock per user and table (advisory, in
 * user order, held to its end): a concurrent transaction issuing the same kind of token
 * to the same user waits, and then sees this one's token to expire, so two batches
 * cannot leave two live links. Advisory rather than the users row, which sign-ins
 * share-lock: the mail batcher holds its transaction through the SMTP send. Then one
 * statement: the outer UPDATE does not see the rows its CTE inserts.
 */
export async function insertLinkTokens(tx: PoolClient, table: LinkTokenTable, tokens: NewLinkToken[], ttlSeconds: number): Promise<void> {
  if (tokens.length === 0) return;
  const name = pg.escapeIdentifier(table);
  await tx.query(
    `SELECT pg_advisory_xact_lock(hashtextextended($2 || ':' || user_id, 0))
       FROM unnest($1::uuid[]) AS t(user_id) ORDER BY user_id`,
    [tokens.map((t) => t.userId), table],
  );
  await tx.query(
    `WITH issued AS (
       INSERT INTO ${name} (user_id, token_hash, expires_at)
       SELECT user_id, token_hash, now() + make_interval(secs => $3)
         FROM unnest($1::uuid[], $2::text[]) AS t(user_id, token_hash)
       RETURNING user_id)
     UPDATE ${name} SET expires_at = now()
      WHERE user_id IN (SELECT user_id FROM issued) AND consumed_at IS NULL AND expires_at > now()`,
    [tokens.map((t) => t.userId), tokens.map((t) => t.tokenHash), ttlSeconds],
  );
}

/** The token with this hash when it is neither consumed nor expired. */
export async function findLiveLinkToken(db: Queryable, table: LinkTokenTable, tokenHash: string): Promise<LiveLinkToken | undefined> {
  const { rows } = await db.query<LiveLinkToken>(
    `SELECT id, user_id FROM ${pg.escapeIdentifier(table)} WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > now()`,
    [tokenHash],
  );
  return rows[0];
}

/** Consumes a live token; false when it was consumed or expired meanwhile (single use). */
export async function consumeLinkToken(db: Queryable, table: LinkTokenTable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ${pg.escapeIdentifier(table)} SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL AND expires_at > now()`,
    [id],
  );
  return rowCount === 1;
}
