import { withTransaction, type Pool } from '../db/pool.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { lockUser, updateUserStatus, type User, type UserStatus } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';
import { revokeUserSessions } from './revoke-user-sessions.js';

export interface StatusChange {
  userId: string;
  status: Exclude<UserStatus, 'deleted'>;
  /** A short snake_case code (events never carry free text). */
  reason?: string;
  actorId: string;
}

/**
 * An administrator locks, disables or reactivates an account: UserStatusChanged with
 * the actor, and for any status but active every session ends at once (SessionRevoked,
 * reason admin): the user's live access tokens are refused at the next request, and a
 * later reactivation does not bring those sessions back. Setting the status it already
 * has changes nothing and writes no event. A deleted or unknown account is 404.
 */
export async function setUserStatus(pool: Pool, change: StatusChange): Promise<{ user: User; sessionsRevoked: number }> {
  return withTransaction(pool, async (tx) => {
    const before = await lockUser(tx, change.userId);
    if (!before || before.status === 'deleted') throw new AppError('not_found');
    if (before.status === change.status) return { user: before, sessionsRevoked: 0 };
    const user = await updateUserStatus(tx, change.userId, change.status);
    const data = { status: change.status, previous_status: before.status, actor_id: change.actorId, ...(change.reason ? { reason: change.reason } : {}) };
    await insertOutboxEvent(tx, createEvent('UserStatusChanged', change.userId, data));
    const revoked = change.status === 'active' ? { sessionIds: [] } : await revokeUserSessions(tx, change.userId, 'admin', change.actorId);
    return { user, sessionsRevoked: revoked.sessionIds.length };
  });
}
