import { z } from 'zod';
import { grantRole, revokeRole, ROLE_NAME } from '../../shared/domain/manage-roles.js';
import { defineRoute } from '../contract/route-declaration.js';
import { uuid } from '../schemas.js';

const roleParams = z.object({ id: uuid, role: z.string().regex(ROLE_NAME) });
const rolesBody = z.object({ roles: z.array(z.string()) });

export const grantUserRoleRoute = defineRoute({
  method: 'put',
  path: '/admin/users/:id/roles/:role',
  operationId: 'adminGrantRole',
  summary: 'Give an account a role',
  description: 'Idempotent: granting a role the account holds changes nothing and writes no event. Otherwise `RoleGranted`; the role works from the account\'s next request.',
  tag: 'Admin',
  access: 'role:admin',
  limit: { action: 'admin', account: 'user' },
  request: { params: roleParams },
  responses: { 200: { description: 'The account\'s roles now.', json: rolesBody } },
  errors: ['not_found'],
}).handle(async ({ auth, params, services }) => {
  const { roles } = await grantRole(services.pool, { userId: params.id, role: params.role, actorId: auth.userId });
  return { status: 200, body: { roles } };
});

export const revokeUserRoleRoute = defineRoute({
  method: 'delete',
  path: '/admin/users/:id/roles/:role',
  operationId: 'adminRevokeRole',
  summary: 'Take a role from an account',
  description: '`RoleRevoked`; the account\'s next request already lacks it. An administrator cannot remove their own admin role (409).',
  tag: 'Admin',
  access: 'role:admin',
  limit: { action: 'admin', account: 'user' },
  request: { params: roleParams },
  responses: { 200: { description: 'The account\'s roles now.', json: rolesBody } },
  errors: ['not_found', 'conflict'],
}).handle(async ({ auth, params, services }) => {
  const { roles } = await revokeRole(services.pool, { userId: params.id, role: params.role, actorId: auth.userId });
  return { status: 200, body: { roles } };
});
