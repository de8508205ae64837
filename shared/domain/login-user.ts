import { withTransaction } from '../db/pool.js';
import { insertLoginAttempt } from '../db/queries/login-attempts.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { findCredentialsByEmail, updatePasswordHash, type UserCredentials } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events.js';
import type { Services } from '../services.js';
import { canonicalEmail } from './email-address.js';
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
  const email = canonicalEmail(credentials.email);
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

  const upgradedHash = deps.hasher.needsRehash(user.password_hash) ? await deps.hasher.hash(password) : undefined;
  return withTransaction(deps.pool, async (tx) => {
    if (upgradedHash) await updatePasswordHash(tx, user.id, upgradedHash);
    const issued = await openSession(tx, deps, { userId: user.id, ...client });
    const attemptId = await insertLoginAttempt(tx, { ...attempt, userId: user.id, success: true, reason: null });
    await insertOutboxEvent(tx, createEvent('LoginSucceeded', user.id, { session_id: issued.sessionId, attempt_id: attemptId }));
    return issued;
  });
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
