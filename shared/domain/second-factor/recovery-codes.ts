import crypto from 'node:crypto';
import { hashToken } from '../../crypto/random-token.js';
import type { Queryable } from '../../db/pool.js';
import { findActiveMfaTypes } from '../../db/queries/mfa-methods.js';
import { deleteRecoveryCodesOfUser, replaceRecoveryCodes, useRecoveryCode } from '../../db/queries/recovery-codes.js';
import { recordFactorChange } from './record-factor-change.js';

export const RECOVERY_CODE_COUNT = 10;
/** Lowercase RFC 4648 base32 without padding: no 0/1/8/9 to confuse with letters. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** One code: 16 characters (80 bits) in four groups, e.g. `k7qm-2xrd-p4va-n6wt`. */
function newRecoveryCode(): string {
  const bytes = crypto.randomBytes(16);
  const chars = [...bytes].map((byte) => ALPHABET[byte & 31]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/** A code as typed: case, spaces and hyphens do not matter. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/**
 * A fresh set of recovery codes, shown once: only their hashes are kept, and the
 * previous set stops working. The codes carry 80 bits each, so a plain SHA-256 is
 * enough to keep them from the database's readers.
 */
export async function issueRecoveryCodes(db: Queryable, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await replaceRecoveryCodes(db, userId, codes.map((code) => hashToken(normalizeRecoveryCode(code))));
  return codes;
}

/** Spends a recovery code; false for an unknown or used one. Two requests with one code: one wins. */
export function spendRecoveryCode(db: Queryable, userId: string, code: string): Promise<boolean> {
  return useRecoveryCode(db, userId, hashToken(normalizeRecoveryCode(code)));
}

/** When the last factor goes, so do the recovery codes: they are only a way around a factor. */
export async function dropRecoveryCodesWithoutFactors(db: Queryable, userId: string): Promise<void> {
  if ((await findActiveMfaTypes(db, userId)).length > 0) return;
  if ((await deleteRecoveryCodesOfUser(db, userId)) > 0) await recordFactorChange(db, { userId, method: 'recovery_codes' }, false);
}
