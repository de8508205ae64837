import type { Queryable } from '../pool.js';

export type MfaMethodType = 'totp' | 'webauthn';

/** What may be shown about a second factor: never its secret or key. */
export interface MfaMethodSummary {
  id: string;
  type: MfaMethodType;
  label: string | null;
  added_at: Date;
  last_used_at: Date | null;
}

/** The activated factors (a TOTP enrolment waiting for its first code is not one yet). */
export async function findMfaMethodSummariesByUserId(db: Queryable, userId: string): Promise<MfaMethodSummary[]> {
  const { rows } = await db.query<MfaMethodSummary>(
    'SELECT id, type, label, added_at, last_used_at FROM mfa_methods WHERE user_id = $1 AND activated_at IS NOT NULL ORDER BY added_at, id',
    [userId],
  );
  return rows;
}

/** The types of the user's activated factors, for the sign-in's "which second step" decision. */
export async function findActiveMfaTypes(db: Queryable, userId: string): Promise<MfaMethodType[]> {
  const { rows } = await db.query<{ type: MfaMethodType }>({
    name: 'find-active-mfa-types',
    text: 'SELECT DISTINCT type FROM mfa_methods WHERE user_id = $1 AND activated_at IS NOT NULL ORDER BY type',
    values: [userId],
  });
  return rows.map((row) => row.type);
}

/** Removes every second factor of the user; returns what was removed. */
export async function deleteMfaMethodsOfUser(db: Queryable, userId: string): Promise<Array<Pick<MfaMethodSummary, 'id' | 'type'>>> {
  const { rows } = await db.query<Pick<MfaMethodSummary, 'id' | 'type'>>('DELETE FROM mfa_methods WHERE user_id = $1 RETURNING id, type', [userId]);
  return rows;
}

export interface TotpMethod {
  id: string;
  /** The Base32 secret, encrypted (SecretBox). */
  secret: string;
  activated: boolean;
  last_used_step: string | null;
}

/** The user's TOTP row (activated or pending), locked for the step that checks a code against it. */
export async function lockTotpMethod(db: Queryable, userId: string): Promise<TotpMethod | undefined> {
  const { rows } = await db.query<TotpMethod>(
    "SELECT id, secret, activated_at IS NOT NULL AS activated, last_used_step::text FROM mfa_methods WHERE user_id = $1 AND type = 'totp' FOR UPDATE",
    [userId],
  );
  return rows[0];
}

/** A pending TOTP enrolment with a new encrypted secret, replacing a pending one (one TOTP per user). */
export async function upsertPendingTotp(db: Queryable, userId: string, encryptedSecret: string, label: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO mfa_methods (user_id, type, label, secret) VALUES ($1, 'totp', $3, $2)
     ON CONFLICT (user_id) WHERE type = 'totp'
     DO UPDATE SET secret = EXCLUDED.secret, label = EXCLUDED.label, added_at = now(), last_used_step = NULL
       WHERE mfa_methods.activated_at IS NULL
     RETURNING id`,
    [userId, encryptedSecret, label],
  );
  if (!rows[0]) throw new Error(`user ${userId} already has an activated TOTP`);
  return rows[0].id;
}

/**
 * Records that a code of `step` was accepted: the step, the use, and activation for a
 * pending enrolment. Only when the step is later than the last one accepted, so two
 * requests with the same code cannot both pass; false otherwise.
 */
export async function acceptTotpStep(db: Queryable, methodId: string, step: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE mfa_methods SET last_used_step = $2, last_used_at = now(), activated_at = coalesce(activated_at, now())
      WHERE id = $1 AND (last_used_step IS NULL OR last_used_step < $2)`,
    [methodId, step],
  );
  return rowCount === 1;
}

/** Removes the user's TOTP; returns its id when there was one. */
export async function deleteTotpMethod(db: Queryable, userId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>("DELETE FROM mfa_methods WHERE user_id = $1 AND type = 'totp' RETURNING id", [userId]);
  return rows[0]?.id;
}
