import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { requestPasswordReset } from '../../shared/domain/request-password-reset.js';
import { resetPassword } from '../../shared/domain/reset-password.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import { bodyEmail, rateLimit } from '../middleware/koa-rate-limit.js';
import { passwordResetDonePage, resetFailedPage, resetPasswordPage } from '../pages/password-reset-pages.js';
import { isFormPost, sendPage } from '../pages/render-page.js';
import { requiredString } from '../schemas.js';
import { validate } from '../validate.js';

/** Paths whose page posts a form (application/x-www-form-urlencoded) back to itself. */
export const PASSWORD_RESET_FORM_PATHS = ['/password/reset'] as const;

const forgotSchema = z.object({ email: requiredString(1024) });
const resetSchema = z.object({ token: requiredString(512), password: requiredString(4096) });

function queryToken(ctx: Context): string | undefined {
  const token = ctx.query.token;
  return typeof token === 'string' && token.length > 0 && token.length <= 512 ? token : undefined;
}

/** A form's token, when it is a usable string, to show the form again with. */
function formToken(body: unknown): string | undefined {
  const token = (body as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && token.length > 0 && token.length <= 512 ? token : undefined;
}

/**
 * POST /password/forgot (202, the same whether or not the account exists), GET
 * /password/reset (the new-password page) and POST /password/reset (JSON: 200
 * {"message":"success"}; from the page's form: a page).
 */
export function passwordResetRoutes(services: Services): Router {
  return new Router()
    .post('/password/forgot', rateLimit(services.rateLimits, 'forgot', bodyEmail), async (ctx) => {
      const { email } = validate(forgotSchema, ctx.request.body);
      await requestPasswordReset(services.pool, email);
      ctx.status = 202;
      ctx.body = { message: 'success' };
    })
    .get('/password/reset', (ctx) => {
      const token = queryToken(ctx);
      if (token) sendPage(ctx, 200, resetPasswordPage(token, services.config.passwords));
      else sendPage(ctx, 400, resetFailedPage());
    })
    .post('/password/reset', rateLimit(services.rateLimits, 'reset'), async (ctx) => {
      const asPage = isFormPost(ctx);
      try {
        const input = validate(resetSchema, ctx.request.body);
        await resetPassword(services, input.token, input.password);
      } catch (error) {
        if (!asPage || !(error instanceof AppError) || error.status >= 500) throw error;
        const token = formToken(ctx.request.body);
        // A refused password shows the form again (the token still works); anything else is a dead link.
        if (error.code === 'invalid_request' && error.fields?.password && token) {
          return sendPage(ctx, 400, resetPasswordPage(token, services.config.passwords, `The password is not accepted: it ${error.fields.password}.`));
        }
        return sendPage(ctx, 400, resetFailedPage());
      }
      if (asPage) sendPage(ctx, 200, passwordResetDonePage());
      else ctx.body = { message: 'success' };
    });
}
