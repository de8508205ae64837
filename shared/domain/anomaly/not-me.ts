import { hashToken } from '../../crypto/random-token.js';
import { withTransaction, type Pool } from '../../db/pool.js';
import { disownSignIn } from '../../db/queries/login-attempts.js';
import { insertOutboxEvent } from '../../db/queries/outbox.js';
import { consumeSecurityToken, findLiveSecurityTokenOwner } from '../../db/queries/security-tokens.js';
import { lockUser, requirePasswordReset } from '../../db/queries/users.js';
import { createEvent } from '../../events/create-event.js';
import { invalidLinkToken } from '../mail-link-tokens.js';
import { revokeUserSessions } from '../revoke-user-sessions.js';

export interface NotMeOutcome {
  userId: string;
  sessionsRevoked: number;
}

/**
 * "This wasn't me", from the link in a new-sign-in notice: consumes the token, disowns
 * the sign-in it was about (that network and device are strangers again), signs
 * the account out everywhere (every session and refresh token, SessionRevoked for each)
 * and requires a password reset before the next sign-in (login answers 403
 * password_reset_required until a new password is set). A reset mail goes to the
 * stored address at once (PasswordResetRequested). One transaction, locks in the house
 * order: users, sessions, refresh_tokens. A used, expired or unknown token is 400
 * invalid_token.
 */
export async function confirmNotMe(pool: Pool, token: string): Promise<NotMeOutcome> {
  const tokenHash = hashToken(token);
  const userId = await findLiveSecurityTokenOwner(pool, 'not_me', tokenHash);
  if (!userId) throw invalidLinkToken();
  return withTransaction(pool, async (tx) => {
    const user = await lockUser(tx, userId);
    if (!user || user.status === 'deleted') throw invalidLinkToken();
    // Conditional on still being live: of two concurrent confirmations, one wins.
    const consumed = await consumeSecurityToken(tx, 'not_me', tokenHash, userId);
    if (!consumed) throw invalidLinkToken();
    if (consumed.attempt_id) await disownSignIn(tx, userId, consumed.attempt_id);
    await requirePasswordReset(tx, userId);
    const revoked = await revokeUserSessions(tx, userId, 'not_me');
    if (user.status === 'active') await insertOutboxEvent(tx, createEvent('PasswordResetRequested', userId, { reason: 'not_me' }));
    return { userId, sessionsRevoked: revoked.sessionIds.length };
  });
}
