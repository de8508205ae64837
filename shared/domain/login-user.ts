import { insertLoginAttempt } from '../db/queries/login-attempts.js';
import { findCredentialsByEmail, type SignInCredentials } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import { isSignInRefusedByGuard } from './anomaly/guard-account.js';
import { normalizeEmail } from './email-address.js';
import type { IssuedTokens } from './open-session.js';
import { PasswordPolicy } from './password-policy.js';
import { openPasswordSession } from './sign-in/open-password-session.js';
import { secondFactorsOf, startSecondStep, type SecondFactorMethod } from './sign-in/start-second-step.js';
import { BLOCKING_STATUS, recordLoginFailure, type Attempt } from './sign-in/sign-in-refusals.js';

export interface Credentials {
  email: string;
  password: string;
}

export interface ClientInfo {
  ip: string | undefined;
  userAgent: string | undefined;
}

export type LoginDeps = Pick<Services, 'pool' | 'hasher' | 'accessTokens' | 'config'>;

/** A password that verified, for an account that may sign in: what the next step works with. */
export interface VerifiedPassword {
  user: SignInCredentials;
  /** The password as verified (NFKC), for a hash upgrade. */
  password: string;
  attempt: Attempt;
}

/** How a sign-in ends: a session, or a second step the client must answer first. */
export type SignInOutcome =
  | { kind: 'signed-in'; tokens: IssuedTokens }
  | { kind: 'second-step'; mfaToken: string; methods: SecondFactorMethod[] };

/**
 * Step one of a sign-in: checks the password and the account's state. Unknown emails and
 * wrong passwords get the same 401 after the same amount of hashing; account state is
 * revealed only to someone who knows the password. Every refusal is recorded in
 * login_attempts.
 */
export async function verifyPassword(deps: LoginDeps, credentials: Credentials, client: ClientInfo): Promise<VerifiedPassword> {
  // Not an address at all (control characters, too long): 400, before any row is written.
  const email = normalizeEmail(credentials.email);
  const password = PasswordPolicy.normalize(credentials.password);
  const attempt = { email, ip: client.ip, userAgent: client.userAgent };
  const user = await findCredentialsByEmail(deps.pool, email);

  if (!user) {
    await deps.hasher.verifyDummy(password);
    await insertLoginAttempt(deps.pool, { ...attempt, userId: undefined, success: false, reason: 'unknown_email' });
    throw new AppError('invalid_credentials');
  }
  if (!(await deps.hasher.verify(user.password_hash, password))) {
    await recordLoginFailure(deps.pool, user.id, attempt, 'invalid_password');
    throw new AppError('invalid_credentials');
  }
  if (user.status === 'locked' || user.status === 'disabled') {
    const code = BLOCKING_STATUS[user.status];
    await recordLoginFailure(deps.pool, user.id, attempt, code);
    throw new AppError(code);
  }
  // A guarded account refuses networks and devices it never saw sign in, with the
  // wrong-password answer: a guessed or stuffed password is not confirmed to its holder.
  if (user.guarded && (await isSignInRefusedByGuard(deps.pool, user.id, client))) {
    await recordLoginFailure(deps.pool, user.id, attempt, 'account_guarded');
    throw new AppError('invalid_credentials');
  }
  if (user.password_reset_required) {
    await recordLoginFailure(deps.pool, user.id, attempt, 'password_reset_required');
    throw new AppError('password_reset_required');
  }
  return { user, password, attempt };
}

/**
 * A sign-in with email and password, in its three steps: the password (verifyPassword);
 * whether a second factor is needed (the account has one: then a short-lived mfa_token
 * for POST /login/mfa or the WebAuthn step, and no session yet); the session.
 */
export async function loginUser(deps: LoginDeps, credentials: Credentials, client: ClientInfo): Promise<SignInOutcome> {
  const verified = await verifyPassword(deps, credentials, client);
  const methods = secondFactorsOf(verified.user);
  if (methods.length > 0) return { kind: 'second-step', methods, mfaToken: await startSecondStep(deps, verified) };
  return { kind: 'signed-in', tokens: await openPasswordSession(deps, verified) };
}
