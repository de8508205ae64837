import { z } from 'zod';
import type { Pool } from '../../shared/db/pool.js';
import { findUserListing, searchUsers, type UserListing } from '../../shared/db/queries/user-search.js';
import { clearSecondFactorsAsAdmin, deleteAccountAsAdmin, revokeSessionsAsAdmin } from '../../shared/domain/admin-actions.js';
import { describeUserForAdmin } from '../../shared/domain/describe-user-for-admin.js';
import { setUserStatus } from '../../shared/domain/set-user-status.js';
import { defineRoute } from '../contract/route-declaration.js';
import {
  booleanParam,
  cursorParam,
  dateTimeParam,
  encodeCursor,
  limitParam,
  mfaMethodSummary,
  profileBody,
  sessionSummary,
  timestamp,
  USER_STATUSES,
  uuid,
} from '../schemas.js';

/*
 * The operators' view of accounts (role admin). Every action writes its event with the
 * administrator as actor_id, so the audit worker records who did it.
 */

export const adminUser = z
  .object({
    id: z.uuid(),
    email: z.email(),
    email_verified: z.boolean(),
    status: z.enum(USER_STATUSES),
    created_at: timestamp,
    updated_at: timestamp,
    display_name: z.string().nullable(),
    roles: z.array(z.string()),
  })
  .meta({ id: 'AdminUser' });

/** A listing row as the API shows it: without its keyset position. */
export function adminUserBody({ position: _position, ...user }: UserListing) {
  return user;
}

/** The account as the listing shows it, after a change (it exists: the change locked it). */
async function adminUserNow(pool: Pool, userId: string) {
  const user = await findUserListing(pool, userId);
  if (!user) throw new Error(`user ${userId} vanished after a change`);
  return adminUserBody(user);
}

const userIdParams = z.object({ id: uuid });

const listQuery = z.object({
  q: z.string().min(1, { error: 'must not be empty' }).max(320, { error: 'must be at most 320 characters' }).optional().meta({ description: 'The start of the address (case-insensitive).' }),
  status: z.enum(USER_STATUSES, { error: `must be one of ${USER_STATUSES.join(', ')}` }).optional(),
  verified: booleanParam,
  created_from: dateTimeParam,
  created_to: dateTimeParam,
  cursor: cursorParam(z.uuid()).optional(),
  limit: limitParam,
});

export const listUsersRoute = defineRoute({
  method: 'get',
  path: '/admin/users',
  operationId: 'adminListUsers',
  summary: 'Search accounts',
  description: 'Newest first, a page at a time: pass `next_cursor` as `cursor` for the next page (null on the last). Rows created meanwhile never repeat or shift a page.',
  tag: 'Admin',
  access: 'role:admin',
  request: { query: listQuery },
  responses: {
    200: { description: 'A page of accounts.', json: z.object({ users: z.array(adminUser), next_cursor: z.string().nullable() }) },
  },
}).handle(async ({ query, services }) => {
  const rows = await searchUsers(services.pool, {
    emailPrefix: query.q,
    status: query.status,
    verified: query.verified,
    createdFrom: query.created_from,
    createdTo: query.created_to,
    after: query.cursor,
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const next = rows.length > query.limit ? encodeCursor(page[page.length - 1]!.position) : null;
  return { status: 200, body: { users: page.map(adminUserBody), next_cursor: next } };
});

const scoredAttempt = z.object({
  id: z.string(),
  created_at: timestamp,
  success: z.boolean(),
  reason: z.string().nullable(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  risk_score: z.int().min(0).max(100).nullable(),
  risk_reasons: z.unknown(),
  scored_at: timestamp.nullable(),
});

export const getUserRoute = defineRoute({
  method: 'get',
  path: '/admin/users/:id',
  operationId: 'adminGetUser',
  summary: 'One account in full',
  description: 'Its fields, profile and roles, live sessions, second factors (never a secret) and the latest 50 sign-in attempts with their anomaly scores.',
  tag: 'Admin',
  access: 'role:admin',
  request: { params: userIdParams },
  responses: {
    200: {
      description: 'The account.',
      json: adminUser.extend({
        profile: profileBody.nullable(),
        sessions: z.array(sessionSummary),
        mfa: z.array(mfaMethodSummary),
        login_attempts: z.array(scoredAttempt),
      }),
    },
  },
  errors: ['not_found'],
}).handle(async ({ params, services }) => ({
  status: 200,
  body: await describeUserForAdmin(services.pool, params.id, services.config.sessions.idleTimeoutSeconds),
}));

export const setUserStatusRoute = defineRoute({
  method: 'post',
  path: '/admin/users/:id/status',
  operationId: 'adminSetUserStatus',
  summary: 'Lock, disable or reactivate an account',
  description: 'Any status but `active` ends every session at once (their access tokens get 401 at the next request). `reason` is a short code such as `fraud` or `support_request`, kept in the event and the audit log.',
  tag: 'Admin',
  access: 'role:admin',
  limit: { action: 'admin', account: 'user' },
  request: {
    params: userIdParams,
    body: z.strictObject({
      status: z.enum(['active', 'locked', 'disabled'], { error: 'must be active, locked or disabled' }),
      reason: z.string({ error: 'must be a string' }).regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'must be a short snake_case code such as fraud' }).optional(),
    }),
    example: { status: 'locked', reason: 'fraud' },
  },
  responses: { 200: { description: 'The account as it is now.', json: adminUser.extend({ sessions_revoked: z.int().nonnegative() }) } },
  errors: ['not_found'],
}).handle(async ({ auth, params, body, services }) => {
  const { sessionsRevoked } = await setUserStatus(services.pool, { userId: params.id, status: body.status, reason: body.reason, actorId: auth.userId });
  return { status: 200, body: { ...(await adminUserNow(services.pool, params.id)), sessions_revoked: sessionsRevoked } };
});


export const revokeUserSessionsRoute = defineRoute({
  method: 'post',
  path: '/admin/users/:id/sessions/revoke',
  operationId: 'adminRevokeUserSessions',
  summary: 'End every session of an account',
  description: 'Every session and refresh token is revoked (`SessionRevoked`, reason `admin`); the account stays as it is and may sign in again.',
  tag: 'Admin',
  access: 'role:admin',
  limit: { action: 'admin', account: 'user' },
  request: { params: userIdParams },
  responses: { 200: { description: 'Ended.', json: z.object({ sessions_revoked: z.int().nonnegative() }) } },
  errors: ['not_found'],
}).handle(async ({ auth, params, services }) => ({
  status: 200,
  body: { sessions_revoked: await revokeSessionsAsAdmin(services.pool, { userId: params.id, actorId: auth.userId }) },
}));

export const deleteUserRoute = defineRoute({
  method: 'delete',
  path: '/admin/users/:id',
  operationId: 'adminDeleteUser',
  summary: 'Delete an account',
  description: 'The same erasure as `DELETE /me`, without the owner\'s password: sessions ended, personal data erased, the address freed, `UserDeleted`.',
  tag: 'Admin',
  access: 'role:admin',
  limit: { action: 'admin', account: 'user' },
  request: { params: userIdParams },
  responses: { 204: { description: 'Deleted.' } },
  errors: ['not_found'],
}).handle(async ({ auth, params, services }) => {
  await deleteAccountAsAdmin(services.pool, { userId: params.id, actorId: auth.userId });
  return { status: 204 };
});

export const clearUserMfaRoute = defineRoute({
  method: 'delete',
  path: '/admin/users/:id/mfa',
  operationId: 'adminClearUserMfa',
  summary: 'Remove every second factor of an account',
  description: 'For an owner who lost their authenticator: each factor removed writes `MfaDisabled`; sessions stay.',
  tag: 'Admin',
  access: 'role:admin',
  limit: { action: 'admin', account: 'user' },
  request: { params: userIdParams },
  responses: { 200: { description: 'Removed.', json: z.object({ methods_removed: z.int().nonnegative() }) } },
  errors: ['not_found'],
}).handle(async ({ auth, params, services }) => ({
  status: 200,
  body: { methods_removed: await clearSecondFactorsAsAdmin(services.pool, { userId: params.id, actorId: auth.userId }) },
}));
