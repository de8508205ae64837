import type { Queryable } from '../pool.js';

/** What may be shown about a second factor: never its secret or key. */
export interface MfaMethodSummary {
  id: string;
  type: 'totp' | 'webauthn';
  label: string | null;
  added_at: Date;
  last_used_at: Date | null;
}

export async function findMfaMethodSummariesByUserId(db: Queryable, userId: string): Promise<MfaMethodSummary[]> {
  const { rows } = await db.query<MfaMethodSummary>(
    'SELECT id, type, label, added_at, last_used_at FROM mfa_methods WHERE user_id = $1 ORDER BY added_at',
    [userId],
  );
  return rows;
}

/** Removes every second factor of the user; returns what was removed. */
export async function deleteMfaMethodsOfUser(db: Queryable, userId: string): Promise<Array<Pick<MfaMethodSummary, 'id' | 'type'>>> {
  const { rows } = await db.query<Pick<MfaMethodSummary, 'id' | 'type'>>('DELETE FROM mfa_methods WHERE user_id = $1 RETURNING id, type', [userId]);
  return rows;
}
