import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { deleteMfaMethodsOfUser } from '../db/queries/mfa-methods.js';
import { deleteMfaChallengesOfUser } from '../db/queries/mfa-challenges.js';
import { deleteRecoveryCodesOfUser } from '../db/queries/recovery-codes.js';
import { lockUser } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { eraseAccount } from './delete-account.js';
import { revokeUserSessions } from './revoke-user-sessions.js';
import { recordFactorChange } from './second-factor/record-factor-change.js';

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
 * Removes every second factor of the user (a lost phone, a lost key) and their recovery
 * codes, with an MfaDisabled each, and any sign-in waiting for its second step; their
 * sessions stay. Returns how many factors were removed.
 */
export function clearSecondFactorsAsAdmin(pool: Pool, { userId, actorId }: AdminAct): Promise<number> {
  return onLiveAccount(pool, userId, async (tx) => {
    const removed = await deleteMfaMethodsOfUser(tx, userId);
    for (const method of removed) await recordFactorChange(tx, { userId, method: method.type, methodId: method.id, actorId }, false);
    if ((await deleteRecoveryCodesOfUser(tx, userId)) > 0) await recordFactorChange(tx, { userId, method: 'recovery_codes', actorId }, false);
    await deleteMfaChallengesOfUser(tx, userId);
    return removed.length;
  });
}
