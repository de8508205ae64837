import { withTransaction, type Pool } from '../db/pool.js';
import { revokeRefreshTokensOfSessions } from '../db/queries/refresh-tokens.js';
import { findActiveSessionsOfUser, revokeSessionOfUser } from '../db/queries/sessions.js';
import { AppError } from '../errors.js';
import { describeDevice } from './anomaly/describe-device.js';
import { recordSessionsRevoked, revokeUserSessions, type SessionEndReason } from './revoke-user-sessions.js';

/** The user's live sessions as GET /me/sessions lists them, the caller's own marked `current`. */
export async function listUserSessions(pool: Pool, userId: string, currentSessionId: string, idleTimeoutSeconds: number) {
  const sessions = await findActiveSessionsOfUser(pool, userId, idleTimeoutSeconds);
  return sessions.map((session) => ({
    id: session.id,
    device: describeDevice(session.user_agent) ?? null,
    ip: session.ip,
    created_at: session.created_at,
    last_used_at: session.last_used_at,
    expires_at: session.expires_at,
    current: session.id === currentSessionId,
  }));
}

/**
 * Ends one of the user's live sessions and its refresh tokens (sessions before
 * refresh_tokens: the lock order) with SessionRevoked, in one transaction. Another
 * user's session, an ended one or an unknown id is 404 not_found: the answer does not
 * tell which.
 */
export async function endSession(pool: Pool, userId: string, sessionId: string, reason: SessionEndReason): Promise<void> {
  await withTransaction(pool, async (tx) => {
    if (!(await revokeSessionOfUser(tx, userId, sessionId))) throw new AppError('not_found');
    await revokeRefreshTokensOfSessions(tx, [sessionId]);
    await recordSessionsRevoked(tx, userId, [sessionId], reason);
  });
}

/** Ends every session of the user (POST /logout/all); returns how many were live. */
export async function endAllSessions(pool: Pool, userId: string): Promise<number> {
  return withTransaction(pool, async (tx) => {
    const { sessionIds } = await revokeUserSessions(tx, userId, 'logout_all');
    return sessionIds.length;
  });
}
