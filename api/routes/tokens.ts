import { z } from 'zod';
import { refreshSession } from '../../shared/domain/refresh-session.js';
import { defineRoute } from '../contract/route-declaration.js';
import { requiredString, TOKEN_EXAMPLE, tokenBody } from '../schemas.js';
import { tokenReply } from '../token-response.js';

/** The length only bounds the input; a string of the wrong shape is a 401 like an unknown token. */
const refreshBody = z.strictObject({ refresh_token: requiredString(512) });

export const refreshTokenRoute = defineRoute({
  method: 'post',
  path: '/token/refresh',
  operationId: 'refreshToken',
  summary: 'Exchange a refresh token for new tokens',
  description:
    'Rotates the refresh token: the answer carries its successor, and the one sent is spent. A retry with the same token within `REFRESH_REUSE_GRACE_SECONDS` gets the same successor; a spent token presented later revokes the whole session.',
  tag: 'Sessions',
  access: 'public',
  request: { body: refreshBody, example: { refresh_token: TOKEN_EXAMPLE.refresh_token } },
  responses: {
    200: { description: 'A new access token and the refresh token\'s successor.', json: tokenBody, example: TOKEN_EXAMPLE },
  },
  errors: ['invalid_token'],
  limit: { action: 'refresh' },
}).handle(async ({ body, services }) => {
  return tokenReply(await refreshSession(services, body.refresh_token));
});
