import { z } from 'zod';
import { changePassword } from '../../shared/domain/change-password.js';
import { deleteAccount } from '../../shared/domain/delete-account.js';
import { exportUserData } from '../../shared/domain/export-user-data.js';
import { defineRoute } from '../contract/route-declaration.js';
import { mfaMethodSummary, profileBody, requiredString, sessionSummary, timestamp, USER_STATUSES } from '../schemas.js';

/*
 * The account's lifecycle for its owner. A wrong password is 401 invalid_credentials, as
 * at login; each password check counts against the `reauth` limit of the user.
 */

/** Lengths only bound the input; the domain applies the password policy to the new one. */
const changePasswordBody = z.strictObject({
  current_password: requiredString(4096),
  new_password: requiredString(4096),
});

const deleteAccountBody = z.strictObject({ password: requiredString(4096) });

export const changePasswordRoute = defineRoute({
  method: 'post',
  path: '/password/change',
  operationId: 'changePassword',
  summary: 'Change the password',
  description: 'Sets the new password and revokes every other session (reason `password_change`); this one is kept. The owner is mailed (`PasswordChanged`).',
  tag: 'Account',
  access: 'bearer',
  request: { body: changePasswordBody, example: { current_password: 'a long passphrase of mine', new_password: 'another long passphrase' } },
  responses: {
    200: { description: 'Changed.', json: z.object({ message: z.literal('success'), sessions_revoked: z.int().nonnegative() }) },
  },
  errors: ['invalid_credentials', 'unavailable'],
  limit: { action: 'reauth', account: 'user' },
}).handle(async ({ auth, body, services }) => {
  const { sessionsRevoked } = await changePassword(services, auth, { current: body.current_password, next: body.new_password });
  return { status: 200, body: { message: 'success', sessions_revoked: sessionsRevoked } };
});

export const deleteAccountRoute = defineRoute({
  method: 'delete',
  path: '/me',
  operationId: 'deleteAccount',
  summary: 'Delete the account',
  description: 'Ends every session, erases the profile, devices, addresses and second factors, frees the address, and writes `UserDeleted`. Audit entries stay until their retention ends.',
  tag: 'Account',
  access: 'bearer',
  request: { body: deleteAccountBody },
  responses: { 204: { description: 'Deleted.' } },
  errors: ['invalid_credentials', 'unavailable'],
  limit: { action: 'reauth', account: 'user' },
}).handle(async ({ auth, body, services }) => {
  await deleteAccount(services, auth.userId, body.password);
  return { status: 204 };
});

const exportBody = z.object({
  exported_at: z.iso.datetime(),
  user: z.object({ id: z.uuid(), email: z.email(), email_verified: z.boolean(), status: z.enum(USER_STATUSES), created_at: timestamp, updated_at: timestamp }),
  profile: profileBody.nullable(),
  roles: z.array(z.string()),
  mfa_methods: z.array(mfaMethodSummary),
  sessions: z.array(sessionSummary.extend({ user_agent: z.string().nullable(), revoked_at: timestamp.nullable() })),
  login_history: z.array(z.object({ created_at: timestamp, success: z.boolean(), reason: z.string().nullable(), ip: z.string().nullable(), user_agent: z.string().nullable() })),
  audit_log: z.array(z.object({ created_at: timestamp, action: z.string(), actor_id: z.uuid().nullable(), ip: z.string().nullable(), metadata: z.record(z.string(), z.unknown()) })),
});

export const exportAccountRoute = defineRoute({
  method: 'get',
  path: '/me/export',
  operationId: 'exportAccount',
  summary: 'Download the account\'s own data',
  description: 'Everything stored about the account (GDPR art. 15 and 20) as one JSON attachment, newest first; never a hash, a token or a secret.',
  tag: 'Account',
  access: 'bearer',
  limit: { action: 'export', account: 'user' },
  responses: {
    200: {
      description: 'The data, as a download.',
      json: exportBody,
      headers: { 'Content-Disposition': { description: '`attachment; filename="user-data-<id>.json"`', schema: z.string() } },
    },
  },
}).handle(async ({ auth, services }) => {
  return {
    status: 200,
    body: await exportUserData(services.pool, auth.userId),
    headers: { 'Content-Disposition': `attachment; filename="user-data-${auth.userId}.json"`, 'Cache-Control': 'no-store' },
  };
});
