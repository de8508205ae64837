import { matchTotpCode, newTotpSecret, totpUri } from '../../crypto/totp.js';
import { withTransaction, type PoolClient } from '../../db/pool.js';
import { findActiveMfaTypes, acceptTotpStep, deleteTotpMethod, lockTotpMethod, upsertPendingTotp, type TotpMethod } from '../../db/queries/mfa-methods.js';
import { lockUser } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { AnswerCheck } from '../sign-in/complete-second-step.js';
import { requireFreshSignIn, type Reauthentication } from './fresh-sign-in.js';
import { recordFactorChange } from './record-factor-change.js';
import { dropRecoveryCodesWithoutFactors, issueRecoveryCodes, spendRecoveryCode } from './recovery-codes.js';

type TotpDeps = Pick<Services, 'pool' | 'hasher' | 'rateLimits' | 'secretBox' | 'config'>;

/** RFC 8176 for a one-time code (TOTP or a recovery code). */
const OTP_AMR = ['otp'] as const;

const TOTP_LABEL = 'Authenticator app';

/** Whether `code` is a current, unused TOTP code of this method; records its step when it is. */
async function acceptCode(tx: PoolClient, deps: Pick<Services, 'secretBox'>, method: TotpMethod, code: string): Promise<boolean> {
  const secret = deps.secretBox.decrypt(method.secret);
  const step = await matchTotpCode(secret, code, { afterStep: method.last_used_step === null ? undefined : Number(method.last_used_step) });
  return step !== undefined && (await acceptTotpStep(tx, method.id, step));
}

/** The proof a change to second factors takes: a current TOTP code (on a fresh sign-in) or the password. */
export interface FactorProof extends Reauthentication {
  code?: string | undefined;
}

/**
 * The code half of a FactorProof, in the change's transaction (requireFreshSignIn, which
 * checks a password, runs before it: no hashing while rows are locked).
 */
async function requireCodeUnlessPassword(tx: PoolClient, deps: TotpDeps, proof: FactorProof): Promise<void> {
  if (proof.password !== undefined) return;
  const method = await lockTotpMethod(tx, proof.userId);
  if (proof.code === undefined || !method?.activated || !(await acceptCode(tx, deps, method, proof.code))) throw new AppError('invalid_code');
}

/**
 * Starts a TOTP enrolment: a new secret, encrypted at rest, in a pending row that counts
 * for nothing until a first code activates it (a pending one is replaced). 409 when the
 * account already has an active TOTP.
 */
export async function enrollTotp(deps: TotpDeps, who: Reauthentication): Promise<{ secret: string; otpauthUri: string }> {
  await requireFreshSignIn(deps, who);
  const secret = newTotpSecret();
  const user = await withTransaction(deps.pool, async (tx) => {
    const locked = await lockUser(tx, who.userId);
    if (!locked) throw new AppError('unauthorized');
    if ((await lockTotpMethod(tx, who.userId))?.activated) throw new AppError('conflict', { message: 'An authenticator app is already set up; remove it first.' });
    await upsertPendingTotp(tx, who.userId, deps.secretBox.encrypt(secret), TOTP_LABEL);
    return locked;
  });
  return { secret, otpauthUri: totpUri(secret, deps.config.totpIssuer, user.email) };
}

/**
 * Activates the pending TOTP with a first code (that step is then used up), and issues
 * the account's recovery codes (a new set; the old one stops working), shown once.
 * MfaEnabled. 401 invalid_code for a wrong code, 409 when there is nothing to activate.
 */
export async function activateTotp(deps: TotpDeps, who: Reauthentication, code: string): Promise<string[]> {
  await requireFreshSignIn(deps, who);
  return withTransaction(deps.pool, async (tx) => {
    await lockUser(tx, who.userId);
    const method = await lockTotpMethod(tx, who.userId);
    if (!method || method.activated) throw new AppError('conflict', { message: 'There is no authenticator app waiting to be activated; enrol first.' });
    if (!(await acceptCode(tx, deps, method, code))) throw new AppError('invalid_code');
    const codes = await issueRecoveryCodes(tx, who.userId);
    await recordFactorChange(tx, { userId: who.userId, method: 'totp', methodId: method.id }, true);
    return codes;
  });
}

/**
 * Turns TOTP off (a current code or the password); MfaDisabled. The recovery codes go
 * with the last factor. 404 when there is none.
 */
export async function removeTotp(deps: TotpDeps, proof: FactorProof): Promise<void> {
  await requireFreshSignIn(deps, proof);
  await withTransaction(deps.pool, async (tx) => {
    await lockUser(tx, proof.userId);
    if (!(await lockTotpMethod(tx, proof.userId))?.activated) throw new AppError('not_found', { message: 'No authenticator app is set up.' });
    await requireCodeUnlessPassword(tx, deps, proof);
    const methodId = await deleteTotpMethod(tx, proof.userId);
    await recordFactorChange(tx, { userId: proof.userId, method: 'totp', methodId }, false);
    await dropRecoveryCodesWithoutFactors(tx, proof.userId);
  });
}

/** A fresh set of recovery codes (a current code or the password); the old set stops working. 409 without a factor. */
export async function renewRecoveryCodes(deps: TotpDeps, proof: FactorProof): Promise<string[]> {
  await requireFreshSignIn(deps, proof);
  return withTransaction(deps.pool, async (tx) => {
    await lockUser(tx, proof.userId);
    if ((await findActiveMfaTypes(tx, proof.userId)).length === 0) throw new AppError('conflict', { message: 'Recovery codes need a second factor; set one up first.' });
    await requireCodeUnlessPassword(tx, deps, proof);
    const codes = await issueRecoveryCodes(tx, proof.userId);
    await recordFactorChange(tx, { userId: proof.userId, method: 'recovery_codes' }, true);
    return codes;
  });
}

/** The second step answered with a TOTP code. */
export function totpAnswer(deps: Pick<Services, 'secretBox'>, code: string): AnswerCheck {
  return async (tx, userId) => {
    const method = await lockTotpMethod(tx, userId);
    return method?.activated && (await acceptCode(tx, deps, method, code)) ? OTP_AMR : undefined;
  };
}

/** The second step answered with a recovery code. */
export function recoveryCodeAnswer(code: string): AnswerCheck {
  return async (tx, userId) => ((await spendRecoveryCode(tx, userId, code)) ? OTP_AMR : undefined);
}
