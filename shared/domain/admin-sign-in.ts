import type { AccessTokens } from '../crypto/access-tokens.js';
import type { Pool } from '../db/pool.js';
import { findRoleNamesByUserId } from '../db/queries/roles.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { loginWithLimits } from '../rate-limit/login-with-limits.js';
import { endSession } from './end-sessions.js';
import type { ClientInfo, Credentials } from './login-user.js';
import type { IssuedTokens } from './open-session.js';
import { ADMIN_ROLE } from './manage-roles.js';
import type { SessionEndReason } from './revoke-user-sessions.js';
import { recoveryCodeAnswer, totpAnswer } from './second-factor/totp-factor.js';
import { completeSecondStep, type SecondStepDeps } from './sign-in/complete-second-step.js';

/** Where a sign-in at the dashboard's page stands once the password verified. */
export type AdminSignIn =
  | { status: 'signed_in'; issued: IssuedTokens }
  | { status: 'not_admin' }
  /** The account has a second factor: a password alone never sets the dashboard cookie. */
  | { status: 'second_step'; mfaToken: string };

/** Ends the session unless it ended already (a concurrent sign-out everywhere): either way none is left. */
async function endSessionIfLive(pool: Pool, userId: string, sessionId: string, reason: SessionEndReason): Promise<void> {
  try {
    await endSession(pool, userId, sessionId, reason);
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'not_found')) throw error;
  }
}

/**
 * A sign-in that opened a session lets an administrator in; anyone else gets
 * `not_admin`, and the session just opened for them is ended at once (SessionRevoked,
 * reason `not_admin`): nobody was handed its tokens, so left live it would only show in
 * the owner's session list as a sign-in they cannot use or account for.
 */
async function admitAdmin(pool: Pool, issued: IssuedTokens): Promise<Exclude<AdminSignIn, { status: 'second_step' }>> {
  if ((await findRoleNamesByUserId(pool, issued.userId)).includes(ADMIN_ROLE)) return { status: 'signed_in', issued };
  await endSessionIfLive(pool, issued.userId, issued.sessionId, 'not_admin');
  return { status: 'not_admin' };
}

/**
 * A sign-in at the dashboard: the one login path (limits, login_attempts row,
 * LoginSucceeded or LoginFailed, so it is scored like any sign-in), then the admin role,
 * read from the database (admitAdmin). An account with a second factor must answer it
 * first (completeAdminSecondStep). Failures are loginWithLimits's.
 */
export async function signInAdmin(
  deps: Parameters<typeof loginWithLimits>[0],
  credentials: Credentials,
  client: ClientInfo,
  log?: Logger,
): Promise<AdminSignIn> {
  const outcome = await loginWithLimits(deps, credentials, client, log);
  if (outcome.kind === 'second-step') return { status: 'second_step', mfaToken: outcome.mfaToken };
  return admitAdmin(deps.pool, outcome.tokens);
}

/**
 * The dashboard sign-in's second step: a TOTP code (6 digits) or a recovery code, through
 * the same completeSecondStep as POST /login/mfa, then admitAdmin.
 */
export async function completeAdminSecondStep(
  deps: SecondStepDeps,
  mfaToken: string,
  code: string,
  client: ClientInfo,
  log?: Logger,
): Promise<Exclude<AdminSignIn, { status: 'second_step' }>> {
  const answer = /^\d{6}$/.test(code.trim()) ? totpAnswer(deps, code.trim()) : recoveryCodeAnswer(code);
  return admitAdmin(deps.pool, await completeSecondStep(deps, { token: mfaToken, purpose: 'login', client, log }, answer));
}

/**
 * Ends the session an admin cookie's access token belongs to (reason `logout`). A token
 * that does not verify (expired, forged) or whose session already ended ends nothing.
 */
export async function signOutAdmin(deps: { pool: Pool; accessTokens: AccessTokens }, token: string): Promise<void> {
  const claims = await deps.accessTokens.verify(token).catch((error: unknown) => {
    if (error instanceof AppError) return undefined;
    throw error;
  });
  if (claims) await endSessionIfLive(deps.pool, claims.sub, claims.sid, 'logout');
}
