import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { deleteMfaMethodsOfUser } from '../db/queries/mfa-methods.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { lockUser } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';
import { eraseAccount } from './delete-account.js';
import { revokeUserSessions } from './revoke-user-sessions.js';

/*
 * What an administrator does to someone else's account, each in one transaction with the
 * user row locked first, each with its events carrying the administrator as actor_id. A
 * deleted or unknown account is 404.
 */

interface AdminAct {
  userId: string;
  actorId: string;
}

async function onLiveAccount<T>(pool: Pool, userId: string, act: (tx: PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (tx) => {
    const user = await lockUser(tx, userId);
    if (!user || user.status === 'deleted') throw new AppError('not_found');
    return act(tx);
  });
}

/** Ends every session of the user (SessionRevoked, reason admin); returns how many were live. */
export function revokeSessionsAsAdmin(pool: Pool, { userId, actorId }: AdminAct): Promise<number> {
  return onLiveAccount(pool, userId, async (tx) => (await revokeUserSessions(tx, userId, 'admin', actorId)).sessionIds.length);
}

/** The same erasure as DELETE /me, without the owner's password. */
export function deleteAccountAsAdmin(pool: Pool, { userId, actorId }: AdminAct): Promise<void> {
  return onLiveAccount(pool, userId, (tx) => eraseAccount(tx, userId, actorId));
}

/**
 * Removes every second factor of the user (a lost phone, a lost key), with an
 * MfaDisabled per factor; their sessions stay. Returns how many were removed.
 */
export function clearSecondFactorsAsAdmin(pool: Pool, { userId, actorId }: AdminAct): Promise<number> {
  return onLiveAccount(pool, userId, async (tx) => {
    const removed = await deleteMfaMethodsOfUser(tx, userId);
    for (const method of removed) {
      await insertOutboxEvent(tx, createEvent('MfaDisabled', userId, { method: method.type, method_id: method.id, actor_id: actorId }));
    }
    return removed.length;
  });
}
