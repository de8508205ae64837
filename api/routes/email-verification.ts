import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { resendVerification } from '../../shared/domain/resend-verification.js';
import { verifyEmail } from '../../shared/domain/verify-email.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import { rateLimit } from '../middleware/koa-rate-limit.js';
import { requireAuth, type AuthState } from '../middleware/koa-require-auth.js';
import { emailVerifiedPage, verificationFailedPage, verifyEmailPage } from '../pages/email-verification-pages.js';
import { isFormPost, sendPage } from '../pages/render-page.js';
import { requiredString } from '../schemas.js';
import { validate } from '../validate.js';

/** Paths whose page posts a form (application/x-www-form-urlencoded) back to itself. */
export const EMAIL_VERIFICATION_FORM_PATHS = ['/email/verify'] as const;

const verifySchema = z.object({ token: requiredString(512) });

/** The token of a GET page link: exactly one non-empty value. */
function queryToken(ctx: Context): string | undefined {
  const token = ctx.query.token;
  return typeof token === 'string' && token.length > 0 && token.length <= 512 ? token : undefined;
}

/**
 * GET /email/verify (a page whose form posts the token), POST /email/verify (JSON:
 * 200 {"message":"success"}; from the page's form: a page) and POST
 * /email/verify/resend (Bearer: 202, or 200 when the address is already verified).
 */
export function emailVerificationRoutes(services: Services): Router {
  return new Router()
    .get('/email/verify', (ctx) => {
      const token = queryToken(ctx);
      if (token) sendPage(ctx, 200, verifyEmailPage(token));
      else sendPage(ctx, 400, verificationFailedPage());
    })
    .post('/email/verify', rateLimit(services.rateLimits, 'verify'), async (ctx) => {
      const asPage = isFormPost(ctx);
      try {
        const { token } = validate(verifySchema, ctx.request.body);
        await verifyEmail(services.pool, token);
      } catch (error) {
        if (asPage && error instanceof AppError && error.status < 500) return sendPage(ctx, 400, verificationFailedPage());
        throw error;
      }
      if (asPage) sendPage(ctx, 200, emailVerifiedPage());
      else ctx.body = { message: 'success' };
    })
    .post('/email/verify/resend', requireAuth(services), rateLimit(services.rateLimits, 'resend', (ctx) => (ctx.state.auth as AuthState).userId), async (ctx) => {
      const { userId } = ctx.state.auth as AuthState;
      const outcome = await resendVerification(services.pool, userId);
      if (outcome === 'already-verified') {
        ctx.body = { message: 'success', email_verified: true };
        return;
      }
      ctx.status = 202;
      ctx.body = { message: 'success' };
    });
}
