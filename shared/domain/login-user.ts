import { hashToken, randomToken } from '../crypto/random-token.js';
import { withTransaction } from '../db/pool.js';
import { insertLoginAttempt } from '../db/queries/login-attempts.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { recordSignIn } from '../db/queries/sign-in.js';
import { findCredentialsByEmail, lockUserForSignIn, updatePasswordHash, type SignInState, type UserCredentials } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent, createEventEnvelope } from '../events/create-event.js';
import type { LOGIN_FAILURE_REASONS } from '../events/event-fields.js';
import type { Services } from '../services.js';
import { isSignInRefusedByGuard } from './anomaly/guard-account.js';
import { normalizeEmail } from './email-address.js';
import { PasswordPolicy } from './password-policy.js';
import { openSession, type IssuedTokens } from './open-session.js';

export interface Credentials {
  email: string;
  password: string;
}

export interface ClientInfo {
  ip: string | undefined;
  userAgent: string | undefined;
}

type LoginDeps = Pick<Services, 'pool' | 'hasher' | 'accessTokens' | 'config'>;

type Attempt = { email: string; ip: string | undefined; userAgent: string | undefined };

const BLOCKING_STATUS = { locked: 'account_locked', disabled: 'account_disabled' } as const;
type BlockingCode = (typeof BLOCKING_STATUS)[keyof typeof BLOCKING_STATUS];

/** A sign-in whose password verified but whose account changed during the check. */
interface Refused {
  code: 'invalid_credentials' | 'password_reset_required' | BlockingCode;
  /** The login_attempts reason; `unknown_email` (a deletion) is recorded as for an address nobody holds. */
  reason: 'unknown_email' | 'password_changed' | 'password_reset_required' | BlockingCode;
}

/**
 * The one rule for opening a session after the password check, judged under the user's
 * lock, for whatever committed during the check: a deletion makes the address unknown;
 * a lock or disabling answers as it would have before the check; a password reset or
 * change means the password just verified is no longer the account's (the answer to a
 * wrong one); a "this wasn't me" requires a reset.
 */
function refusalOf(state: SignInState | undefined): Refused | undefined {
  if (!state || state.status === 'deleted') return { code: 'invalid_credentials', reason: 'unknown_email' };
  if (state.status !== 'active') return { code: BLOCKING_STATUS[state.status], reason: BLOCKING_STATUS[state.status] };
  if (!state.password_unchanged) return { code: 'invalid_credentials', reason: 'password_changed' };
  if (state.password_reset_required) return { code: 'password_reset_required', reason: 'password_reset_required' };
  return undefined;
}

/**
 * Checks a password and opens a session. Unknown emails and wrong passwords get the
 * same 401 after the same amount of hashing; account state is revealed only to
 * someone who knows the password. Every attempt is recorded in login_attempts.
 */
export async function loginUser(deps: LoginDeps, credentials: Credentials, client: ClientInfo): Promise<IssuedTokens> {
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
    await recordFailure(deps, user, attempt, 'invalid_password');
    throw new AppError('invalid_credentials');
  }
  if (user.status === 'locked' || user.status === 'disabled') {
    const code = BLOCKING_STATUS[user.status];
    await recordFailure(deps, user, attempt, code);
    throw new AppError(code);
  }
  // A guarded account refuses networks and devices it never saw sign in, with the
  // wrong-password answer: a guessed or stuffed password is not confirmed to its holder.
  if (user.guarded && (await isSignInRefusedByGuard(deps.pool, user.id, client))) {
    await recordFailure(deps, user, attempt, 'account_guarded');
    throw new AppError('invalid_credentials');
  }
  if (user.password_reset_required) {
    await recordFailure(deps, user, attempt, 'password_reset_required');
    throw new AppError('password_reset_required');
  }

  const opened = deps.hasher.needsRehash(user.password_hash)
    ? await signInUpgradingHash(deps, user, password, attempt, client)
    : await signIn(deps, user, attempt, client);
  if ('code' in opened) {
    if (opened.reason === 'unknown_email') await insertLoginAttempt(deps.pool, { ...attempt, userId: undefined, success: false, reason: opened.reason });
    else await recordFailure(deps, user, attempt, opened.reason);
    throw new AppError(opened.code);
  }
  return opened;
}

/** The usual sign-in: session, refresh token, attempt and event in one round trip (recordSignIn). */
async function signIn(deps: LoginDeps, user: UserCredentials, attempt: Attempt, client: ClientInfo): Promise<IssuedTokens | Refused> {
  const refreshToken = randomToken();
  const outcome = await recordSignIn(deps.pool, {
    userId: user.id,
    email: attempt.email,
    ip: client.ip,
    userAgent: client.userAgent,
    ttlSeconds: deps.config.sessions.absoluteTtlSeconds,
    verifiedHash: user.password_hash,
    refreshTokenHash: hashToken(refreshToken),
    event: createEventEnvelope('LoginSucceeded', user.id),
  });
  const refused = refusalOf(outcome);
  if (refused) return refused;
  if (!outcome?.recorded) throw new Error(`sign-in of user ${user.id} recorded nothing although the account allowed it`);
  const sessionId = outcome.recorded.session_id;
  return {
    sessionId,
    accessToken: deps.accessTokens.sign({ sub: user.id, sid: sessionId }),
    expiresIn: deps.accessTokens.ttlSeconds,
    refreshToken,
  };
}

/** A sign-in whose stored hash has old parameters: the hash is upgraded in the same transaction. */
async function signInUpgradingHash(
  deps: LoginDeps,
  user: UserCredentials,
  password: string,
  attempt: Attempt,
  client: ClientInfo,
): Promise<IssuedTokens | Refused> {
  const upgradedHash = await deps.hasher.hash(password);
  return withTransaction(deps.pool, async (tx) => {
    // Under a lock on the user: a concurrent reset, change or "this wasn't me" either sees
    // this session and revokes it, or has committed and is seen here (and the hash of the
    // old password is then never written over the new one).
    const refused = refusalOf(await lockUserForSignIn(tx, user.id, user.password_hash, true));
    if (refused) return refused;
    await updatePasswordHash(tx, user.id, upgradedHash);
    const issued = await openSession(tx, deps, { userId: user.id, ...client });
    const attemptId = await insertLoginAttempt(tx, { ...attempt, userId: user.id, success: true, reason: null });
    await insertOutboxEvent(tx, createEvent('LoginSucceeded', user.id, { session_id: issued.sessionId, attempt_id: attemptId }));
    return issued;
  });
}

async function recordFailure(
  deps: LoginDeps,
  user: UserCredentials,
  attempt: Attempt,
  reason: (typeof LOGIN_FAILURE_REASONS)[number],
): Promise<void> {
  await withTransaction(deps.pool, async (tx) => {
    const attemptId = await insertLoginAttempt(tx, { ...attempt, userId: user.id, success: false, reason });
    await insertOutboxEvent(tx, createEvent('LoginFailed', user.id, { reason, attempt_id: attemptId }));
  });
}
