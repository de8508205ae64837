import type { Queryable } from '../pool.js';

/** Replaces the user's recovery codes with these hashes: the old ones stop working. */
export async function replaceRecoveryCodes(db: Queryable, userId: string, codeHashes: string[]): Promise<void> {
  await db.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
  await db.query('INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])', [userId, codeHashes]);
}

/** Spends one unused code; false when it is unknown or already used (two requests with one code: one wins). */
export async function useRecoveryCode(db: Queryable, userId: string, codeHash: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL', [userId, codeHash]);
  return rowCount === 1;
}

export async function countUnusedRecoveryCodes(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
  return rows[0]?.count ?? 0;
}

export async function deleteRecoveryCodesOfUser(db: Queryable, userId: string): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
  return rowCount ?? 0;
}
