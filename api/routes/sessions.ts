import { z } from 'zod';
import { endAllSessions, endSession, listUserSessions } from '../../shared/domain/end-sessions.js';
import { defineRoute } from '../contract/route-declaration.js';
import { sessionSummary, uuid } from '../schemas.js';

/*
 * The signed-in user's sessions. Each revocation takes effect on the next request:
 * requireAuth looks the session up every time.
 */

export const listSessionsRoute = defineRoute({
  method: 'get',
  path: '/me/sessions',
  operationId: 'listSessions',
  summary: 'The live sessions of the signed-in user',
  tag: 'Sessions',
  access: 'bearer',
  responses: {
    200: {
      description: 'Most recently used first; `current` marks the caller\'s own.',
      json: z.object({ sessions: z.array(sessionSummary.extend({ current: z.boolean() })) }),
    },
  },
}).handle(async ({ auth, services }) => {
  const sessions = await listUserSessions(services.pool, auth.userId, auth.sessionId, services.config.sessions.idleTimeoutSeconds);
  return { status: 200, body: { sessions } };
});

export const endSessionRoute = defineRoute({
  method: 'delete',
  path: '/me/sessions/:id',
  operationId: 'endSession',
  summary: 'End one session',
  description: 'The session and its refresh tokens are revoked (`SessionRevoked`, reason `user`); its access token is refused at once. Another user\'s, an ended, an unknown or a malformed id get one answer: 404.',
  tag: 'Sessions',
  access: 'bearer',
  limit: { action: 'sessions', account: 'user' },
  request: { params: z.object({ id: uuid }) },
  responses: { 204: { description: 'Ended.' } },
}).handle(async ({ auth, params, services }) => {
  await endSession(services.pool, auth.userId, params.id.toLowerCase(), 'user');
  return { status: 204 };
});

export const logoutRoute = defineRoute({
  method: 'post',
  path: '/logout',
  operationId: 'logout',
  summary: 'End this session',
  tag: 'Sessions',
  access: 'bearer',
  responses: { 204: { description: 'The caller\'s session and its refresh tokens are revoked (reason `logout`).' } },
}).handle(async ({ auth, services }) => {
  await endSession(services.pool, auth.userId, auth.sessionId, 'logout');
  return { status: 204 };
});

export const logoutAllRoute = defineRoute({
  method: 'post',
  path: '/logout/all',
  operationId: 'logoutAll',
  summary: 'End every session of the signed-in user',
  tag: 'Sessions',
  access: 'bearer',
  limit: { action: 'sessions', account: 'user' },
  responses: { 204: { description: 'Every session and its refresh tokens are revoked (reason `logout_all`).' } },
}).handle(async ({ auth, services }) => {
  await endAllSessions(services.pool, auth.userId);
  return { status: 204 };
});
