import Router from '@koa/router';
import { z } from 'zod';
import { refreshSession } from '../../shared/domain/refresh-session.js';
import type { Services } from '../../shared/services.js';
import { rateLimit } from '../middleware/koa-rate-limit.js';
import { respondWithTokens } from '../token-response.js';
import { requiredString } from '../schemas.js';
import { validate } from '../validate.js';

/** The length only bounds the input; a string of the wrong shape is a 401 like an unknown token. */
const refreshSchema = z.object({ refresh_token: requiredString(512) });

/** POST /token/refresh (200 tokens, the refresh token rotated). */
export function tokenRoutes(services: Services): Router {
  return new Router().post('/token/refresh', rateLimit(services.rateLimits, 'refresh'), async (ctx) => {
    const input = validate(refreshSchema, ctx.request.body);
    const issued = await refreshSession(services, input.refresh_token);
    respondWithTokens(ctx, issued);
  });
}
