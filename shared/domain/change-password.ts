import { withTransaction } from '../db/pool.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { expirePasswordResetsOfUser } from '../db/queries/password-resets.js';
import { revokeRefreshTokensOfSessions } from '../db/queries/refresh-tokens.js';
import { deleteMfaChallengesOfUser } from '../db/queries/mfa-challenges.js';
import { revokeSessionsOfUserExcept } from '../db/queries/sessions.js';
import { lockCredentialsById, updatePasswordHash } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';
import type { Services } from '../services.js';
import { recordSessionsRevoked } from './revoke-user-sessions.js';
import { verifyOwnPassword } from './verify-own-password.js';

/**
 * POST /password/change: checks the current password, applies the password policy to
 * the new one (400 naming new_password), hashes it, and in one transaction (users,
 * then sessions, then refresh_tokens) sets the hash, ends every other session with
 * SessionRevoked and writes PasswordChanged; the caller's session stays signed in.
 */
export async function changePassword(
  deps: Pick<Services, 'pool' | 'hasher' | 'passwordPolicy'>,
  user: { userId: string; sessionId: string },
  passwords: { current: string; next: string },
): Promise<{ sessionsRevoked: number }> {
  const credentials = await verifyOwnPassword(deps, user.userId, passwords.current);
  const newPassword = await deps.passwordPolicy.check(passwords.next, credentials.email, 'new_password');
  const passwordHash = await deps.hasher.hash(newPassword);

  return withTransaction(deps.pool, async (tx) => {
    const locked = await lockCredentialsById(tx, user.userId);
    if (!locked || locked.status === 'deleted') throw new AppError('unauthorized');
    // Another change committed since the check: the password just verified is no longer the account's.
    if (locked.password_hash !== credentials.password_hash) throw new AppError('invalid_credentials');
    await updatePasswordHash(tx, user.userId, passwordHash);
    // A reset link mailed before the change would otherwise still override it.
    await expirePasswordResetsOfUser(tx, user.userId);
    const revoked = await revokeSessionsOfUserExcept(tx, user.userId, user.sessionId);
    await deleteMfaChallengesOfUser(tx, user.userId);
    await revokeRefreshTokensOfSessions(tx, revoked);
    await recordSessionsRevoked(tx, user.userId, revoked, 'password_change');
    await insertOutboxEvent(tx, createEvent('PasswordChanged', user.userId, { reason: 'change', sessions_revoked: revoked.length }));
    return { sessionsRevoked: revoked.length };
  });
}
