import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { confirmNotMe } from '../../shared/domain/anomaly/not-me.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import { rateLimit } from '../middleware/koa-rate-limit.js';
import { confirmNotMePage, notMeDonePage, notMeFailedPage } from '../pages/not-me-pages.js';
import { isFormPost, sendPage } from '../pages/render-page.js';
import { requiredString } from '../schemas.js';
import { validate } from '../validate.js';

/** Paths whose page posts a form (application/x-www-form-urlencoded) back to itself. */
export const SECURITY_FORM_PATHS = ['/security/not-me'] as const;

const notMeSchema = z.object({ token: requiredString(512) });

function queryToken(ctx: Context): string | undefined {
  const token = ctx.query.token;
  return typeof token === 'string' && token.length > 0 && token.length <= 512 ? token : undefined;
}

/**
 * GET /security/not-me (the link of a new-sign-in notice: a page whose form posts the
 * token) and POST /security/not-me (JSON: 200 {"message":"success","sessions_revoked"};
 * from the page's form: a page): every session revoked, a password reset required.
 */
export function securityRoutes(services: Services): Router {
  return new Router()
    .get('/security/not-me', (ctx) => {
      const token = queryToken(ctx);
      if (token) sendPage(ctx, 200, confirmNotMePage(token));
      else sendPage(ctx, 400, notMeFailedPage());
    })
    .post('/security/not-me', rateLimit(services.rateLimits, 'verify'), async (ctx) => {
      const asPage = isFormPost(ctx);
      let sessionsRevoked: number;
      try {
        const { token } = validate(notMeSchema, ctx.request.body);
        ({ sessionsRevoked } = await confirmNotMe(services.pool, token));
      } catch (error) {
        if (asPage && error instanceof AppError && error.status < 500) return sendPage(ctx, 400, notMeFailedPage());
        throw error;
      }
      if (asPage) sendPage(ctx, 200, notMeDonePage());
      else ctx.body = { message: 'success', sessions_revoked: sessionsRevoked };
    });
}
