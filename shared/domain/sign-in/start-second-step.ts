import { hashToken, randomToken } from '../../crypto/random-token.js';
import type { Queryable } from '../../db/pool.js';
import { insertMfaChallenge } from '../../db/queries/mfa-challenges.js';
import type { SignInCredentials } from '../../db/queries/users.js';
import type { LoginDeps, VerifiedPassword } from '../login-user.js';
import { withUpgradedHash } from './open-password-session.js';
import { refuse } from './sign-in-refusals.js';

/** How long an mfa_token lives. */
export const MFA_TOKEN_TTL_SECONDS = 300;
/** Wrong answers an mfa_token survives; the next one kills it. */
export const MFA_TOKEN_MAX_FAILURES = 5;

export type SecondFactorMethod = 'totp' | 'webauthn' | 'recovery_code';

/** The second steps an account offers: its activated factors, and its recovery codes while any is unused. */
export function secondFactorsOf(user: Pick<SignInCredentials, 'mfa_types' | 'has_recovery_codes'>): SecondFactorMethod[] {
  return [...user.mfa_types, ...(user.has_recovery_codes ? (['recovery_code'] as const) : [])];
}

async function insertLoginChallenge(db: Queryable, verified: VerifiedPassword, mfaToken: string): Promise<void> {
  await insertMfaChallenge(db, {
    userId: verified.user.id,
    purpose: 'login',
    tokenHash: hashToken(mfaToken),
    ttlSeconds: MFA_TOKEN_TTL_SECONDS,
    ip: verified.attempt.ip,
    userAgent: verified.attempt.userAgent,
  });
}

/**
 * The password verified for an account with a second factor: no session yet, but a
 * short-lived, single-purpose mfa_token (stored only as its hash) for the second step.
 * A hash with old parameters is upgraded now, while the password is at hand.
 */
export async function startSecondStep(deps: LoginDeps, verified: VerifiedPassword): Promise<string> {
  const mfaToken = randomToken();
  if (!deps.hasher.needsRehash(verified.user.password_hash)) {
    await insertLoginChallenge(deps.pool, verified, mfaToken);
    return mfaToken;
  }
  const refused = await withUpgradedHash(deps, verified, (tx) => insertLoginChallenge(tx, verified, mfaToken));
  if (refused) return refuse(deps.pool, verified.user.id, verified.attempt, refused);
  return mfaToken;
}
