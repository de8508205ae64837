import { hashToken, randomToken } from '../crypto/random-token.js';
import { withTransaction } from '../db/pool.js';
import { insertLoginAttempt } from '../db/queries/login-attempts.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { recordSignIn } from '../db/queries/sign-in.js';
import { findCredentialsByEmail, lockUserForSignIn, updatePasswordHash, type UserCredentials } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events.js';
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

const BLOCKING_STATUS = { locked: 'account_locked', disabled: 'account_disabled' } as const;

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

  if (!deps.hasher.needsRehash(user.password_hash)) return signIn(deps, user.id, email, client);

  // A hash with old parameters is upgraded in the same transaction as the sign-in.
  const upgradedHash = await deps.hasher.hash(password);
  return withTransaction(deps.pool, async (tx) => {
    // Under a lock on the user: a concurrent "this wasn't me" either sees this session
    // and revokes it, or has committed and is seen here.
    if ((await lockUserForSignIn(tx, user.id, true))?.password_reset_required) {
      throw new AppError('password_reset_required');
    }
    await updatePasswordHash(tx, user.id, upgradedHash);
    const issued = await openSession(tx, deps, { userId: user.id, ...client });
    const attemptId = await insertLoginAttempt(tx, { ...attempt, userId: user.id, success: true, reason: null });
    await insertOutboxEvent(tx, createEvent('LoginSucceeded', user.id, { session_id: issued.sessionId, attempt_id: attemptId }));
    return issued;
  });
}

/** The usual sign-in: session, refresh token, attempt and event in one round trip (recordSignIn). */
async function signIn(deps: LoginDeps, userId: string, email: string, client: ClientInfo): Promise<IssuedTokens> {
  const refreshToken = randomToken();
  const recorded = await recordSignIn(deps.pool, {
    userId,
    email,
    ip: client.ip,
    userAgent: client.userAgent,
    ttlSeconds: deps.config.sessions.absoluteTtlSeconds,
    refreshTokenHash: hashToken(refreshToken),
    event: createEvent('LoginSucceeded', userId),
  });
  if (!recorded) throw new AppError('password_reset_required');
  return {
    sessionId: recorded.session_id,
    accessToken: deps.accessTokens.sign({ sub: userId, sid: recorded.session_id }),
    expiresIn: deps.accessTokens.ttlSeconds,
    refreshToken,
  };
}

async function recordFailure(
  deps: LoginDeps,
  user: UserCredentials,
  attempt: { email: string; ip: string | undefined; userAgent: string | undefined },
  reason: string,
): Promise<void> {
  await withTransaction(deps.pool, async (tx) => {
    const attemptId = await insertLoginAttempt(tx, { ...attempt, userId: user.id, success: false, reason });
    await insertOutboxEvent(tx, createEvent('LoginFailed', user.id, { reason, attempt_id: attemptId }));
  });
}
