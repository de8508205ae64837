import { hashToken } from '../crypto/random-token.js';
import { withTransaction } from '../db/pool.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { consumeLinkToken, findLiveLinkToken } from '../db/queries/link-tokens.js';
import { expirePasswordResetsOfUser } from '../db/queries/password-resets.js';
import { findUserById, lockUser, updatePasswordHash } from '../db/queries/users.js';
import { createEvent } from '../events/create-event.js';
import type { Services } from '../services.js';
import { invalidLinkToken } from './mail-link-tokens.js';
import { revokeUserSessions } from './revoke-user-sessions.js';

/**
 * Sets a new password with a reset token. The token is checked and the password policy
 * applied before anything changes (a refused password leaves the token usable); then,
 * in one transaction: the token is consumed (and any other reset of the user expired),
 * the hash set, every session and refresh token revoked (SessionRevoked each) and
 * PasswordChanged written,
 * whose reaction mails the owner a notice.
 */
export async function resetPassword(
  { pool, hasher, passwordPolicy }: Pick<Services, 'pool' | 'hasher' | 'passwordPolicy'>,
  token: string,
  newPassword: string,
): Promise<{ userId: string; email: string }> {
  const reset = await findLiveLinkToken(pool, 'password_resets', hashToken(token));
  if (!reset) throw invalidLinkToken();
  const user = await findUserById(pool, reset.user_id);
  if (!user || user.status === 'deleted') throw invalidLinkToken();
  const passwordHash = await hasher.hash(await passwordPolicy.check(newPassword, user.email));

  return withTransaction(pool, async (tx) => {
    const locked = await lockUser(tx, user.id);
    if (!locked || locked.status === 'deleted') throw invalidLinkToken();
    if (!(await consumeLinkToken(tx, 'password_resets', reset.id))) throw invalidLinkToken();
    await expirePasswordResetsOfUser(tx, user.id);
    await updatePasswordHash(tx, user.id, passwordHash);
    const revoked = await revokeUserSessions(tx, user.id, 'password_reset');
    await insertOutboxEvent(tx, createEvent('PasswordChanged', user.id, { reason: 'reset', sessions_revoked: revoked.sessionIds.length }));
    return { userId: user.id, email: user.email };
  });
}
