import { withTransaction, type Pool } from '../db/pool.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { findRoleNamesByUserId, grantRoleToUser, revokeRoleFromUser } from '../db/queries/roles.js';
import { lockUser } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';

/** The role that opens the admin API and the dashboard. */
export const ADMIN_ROLE = 'admin';

/** Role names: snake_case-ish codes, as events and audit rows carry them. */
export const ROLE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

export interface RoleChange {
  userId: string;
  role: string;
  /** The administrator who acts; undefined for the command line (the operator at the machine). */
  actorId?: string;
}

/** The user's roles after a change, and whether it changed anything. */
export interface RolesAfter {
  changed: boolean;
  roles: string[];
}

async function changeRole(pool: Pool, change: RoleChange, grant: boolean): Promise<RolesAfter> {
  return withTransaction(pool, async (tx) => {
    const user = await lockUser(tx, change.userId);
    if (!user || user.status === 'deleted') throw new AppError('not_found');
    if (!grant && change.role === ADMIN_ROLE && change.actorId === change.userId) {
      throw new AppError('conflict', { message: 'An administrator cannot remove their own admin role; ask another administrator.' });
    }
    const changed = grant ? await grantRoleToUser(tx, change.userId, change.role) : await revokeRoleFromUser(tx, change.userId, change.role);
    if (changed) {
      const data = { role: change.role, ...(change.actorId ? { actor_id: change.actorId } : {}) };
      await insertOutboxEvent(tx, createEvent(grant ? 'RoleGranted' : 'RoleRevoked', change.userId, data));
    }
    return { changed, roles: await findRoleNamesByUserId(tx, change.userId) };
  });
}

/**
 * Gives a user a role (RoleGranted, with the acting administrator); nothing happens, and
 * no event is written, when they already hold it. The user row is locked first, so a
 * concurrent deletion either wins (404) or sees the role.
 */
export function grantRole(pool: Pool, change: RoleChange): Promise<RolesAfter> {
  return changeRole(pool, change, true);
}

/**
 * Takes a role from a user (RoleRevoked); their next request already lacks it, since
 * role checks read the live session. An administrator cannot remove their own admin
 * role (409 conflict): the command line can.
 */
export function revokeRole(pool: Pool, change: RoleChange): Promise<RolesAfter> {
  return changeRole(pool, change, false);
}
