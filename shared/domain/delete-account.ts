import { withTransaction, type PoolClient } from '../db/pool.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { erasePersonalDataOfUser } from '../db/queries/personal-data.js';
import { lockCredentialsById, markUserDeleted } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';
import type { Services } from '../services.js';
import { revokeUserSessions } from './revoke-user-sessions.js';
import { verifyOwnPassword } from './verify-own-password.js';

/**
 * What deleting an account means, in the caller's transaction and the house lock order:
 * every session and refresh token revoked (SessionRevoked each), the account marked
 * deleted with its address freed for a new registration, its personal data erased, and
 * UserDeleted written (with the administrator who did it, when one did). Deleted
 * accounts cannot sign in: the credential lookups skip them and the address is gone.
 */
export async function eraseAccount(tx: PoolClient, userId: string, actorId?: string): Promise<void> {
  const { sessionIds } = await revokeUserSessions(tx, userId, 'account_deleted', actorId);
  await markUserDeleted(tx, userId);
  await erasePersonalDataOfUser(tx, userId);
  await insertOutboxEvent(tx, createEvent('UserDeleted', userId, { sessions_revoked: sessionIds.length, ...(actorId ? { actor_id: actorId } : {}) }));
}

/**
 * DELETE /me: the owner's password is checked first (401 invalid_credentials when
 * wrong), then the account is erased in one transaction, refused when the password
 * changed meanwhile.
 */
export async function deleteAccount(deps: Pick<Services, 'pool' | 'hasher'>, userId: string, password: string): Promise<void> {
  const credentials = await verifyOwnPassword(deps, userId, password);
  await withTransaction(deps.pool, async (tx) => {
    const locked = await lockCredentialsById(tx, userId);
    if (!locked || locked.status === 'deleted') throw new AppError('unauthorized');
    if (locked.password_hash !== credentials.password_hash) throw new AppError('invalid_credentials');
    await eraseAccount(tx, userId);
  });
}
