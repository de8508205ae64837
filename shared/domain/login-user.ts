import { withTransaction } from '../db/pool.js';
import { insertLoginAttempt } from '../db/queries/login-attempts.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { findCredentialsByEmail, lockUserForSignIn, updatePasswordHash, type SignInState, type UserCredentials } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';
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

  const outcome = await signIn(deps, user, password, attempt);
  if ('code' in outcome) {
    if (outcome.reason === 'unknown_email') await insertLoginAttempt(deps.pool, { ...attempt, userId: undefined, success: false, reason: outcome.reason });
    else await recordFailure(deps, user, attempt, outcome.reason);
    throw new AppError(outcome.code);
  }
  return outcome;
}

/**
 * Opens the session for a password that verified, under the rule of refusalOf: in one
 * statement usually, or in a transaction that first writes the upgraded hash when the
 * stored one has old parameters (the user row locked, so a concurrent reset, change or
 * "this wasn't me" either sees this session and revokes it, or has committed and is seen
 * here, and the hash of the old password is then never written over the new one).
 */
async function signIn(deps: LoginDeps, user: UserCredentials, password: string, attempt: Attempt): Promise<IssuedTokens | Refused> {
  const opening = { userId: user.id, email: attempt.email, ip: attempt.ip, userAgent: attempt.userAgent, verifiedHash: user.password_hash };
  if (!deps.hasher.needsRehash(user.password_hash)) return opened(await openSession(deps.pool, deps, opening));
  const upgradedHash = await deps.hasher.hash(password);
  return withTransaction(deps.pool, async (tx) => {
    const refused = refusalOf(await lockUserForSignIn(tx, user.id, user.password_hash, true));
    if (refused) return refused;
    await updatePasswordHash(tx, user.id, upgradedHash);
    return opened(await openSession(tx, deps, { ...opening, verifiedHash: upgradedHash }));
  });
}

function opened(outcome: Awaited<ReturnType<typeof openSession>>): IssuedTokens | Refused {
  if ('issued' in outcome) return outcome.issued;
  const refused = refusalOf(outcome.refusedBy);
  if (!refused) throw new Error('a sign-in recorded nothing although the account allowed it');
  return refused;
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
