import pg from 'pg';
import type { Queryable } from '../pool.js';

/**
 * The single-use token tables, which share their shape (token_hash, expires_at,
 * consumed_at): a token is worthless once expired or consumed, so the maintenance purge
 * removes it. Some come with later migrations, hence tokenTableExists.
 */
export const TOKEN_TABLES = ['password_resets', 'email_verification_tokens', 'security_tokens'] as const;
export type TokenTable = (typeof TOKEN_TABLES)[number];

export async function tokenTableExists(db: Queryable, table: TokenTable): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [table]);
  return rows[0]?.exists ?? false;
}

/** Deletes up to `limit` expired or consumed tokens of one table; returns how many. */
export async function deleteSpentTokens(db: Queryable, table: TokenTable, limit: number): Promise<number> {
  const name = pg.escapeIdentifier(table);
  const { rowCount } = await db.query(
    `DELETE FROM ${name} WHERE id IN (
       SELECT id FROM ${name} WHERE expires_at < now() OR consumed_at IS NOT NULL
        LIMIT $1 FOR UPDATE SKIP LOCKED)`,
    [limit],
  );
  return rowCount ?? 0;
}
