import { z } from 'zod';
import { requestPasswordReset } from '../../shared/domain/request-password-reset.js';
import { resetPassword } from '../../shared/domain/reset-password.js';
import { defineRoute } from '../contract/route-declaration.js';
import { passwordResetDonePage, resetFailedPage, resetPasswordPage } from '../pages/password-reset-pages.js';
import { isFormPost } from '../pages/render-page.js';
import { linkToken, requiredString, successMessage } from '../schemas.js';
import { mailedLinkPageRoute } from './mailed-link-page.js';

const resetBody = z.strictObject({ token: linkToken, password: requiredString(4096) });

export const forgotPasswordRoute = defineRoute({
  method: 'post',
  path: '/password/forgot',
  operationId: 'forgotPassword',
  summary: 'Ask for a password reset mail',
  description: 'The same answer whether or not an account has the address; the owner of one gets a link to `/password/reset`.',
  tag: 'Password reset',
  access: 'public',
  request: { body: z.strictObject({ email: requiredString(1024) }), example: { email: 'ada@example.com' } },
  responses: { 202: { description: 'Accepted.', json: successMessage } },
  limit: { action: 'forgot', account: 'body-email' },
}).handle(async ({ body, ctx, services }) => {
  // Padded from the request's arrival: the rate limits and parsing before the work are timed as one with it.
  await services.forgotPasswordTiming.run(() => requestPasswordReset(services.pool, body.email), ctx.state.receivedAt);
  return { status: 202, body: { message: 'success' } };
});

export const resetPasswordPageRoute = mailedLinkPageRoute({
  path: '/password/reset',
  operationId: 'resetPasswordPage',
  summary: 'The page of a password reset link',
  description: 'A new-password form, for installs without a front end of their own.',
  tag: 'Password reset',
  page: (token, services) => resetPasswordPage(token, services.config.passwords),
  failedPage: resetFailedPage,
});

export const resetPasswordRoute = defineRoute({
  method: 'post',
  path: '/password/reset',
  operationId: 'resetPassword',
  summary: 'Set a new password with a mailed token',
  description: 'Every session is revoked. JSON clients get JSON; the page\'s form (urlencoded) gets a page.',
  tag: 'Password reset',
  access: 'public',
  request: { body: resetBody, form: true },
  responses: {
    200: { description: 'The new password is set.', json: successMessage, html: true },
    400: { description: 'The form again with the reason its password was refused, or a dead link.', html: true },
  },
  errors: [{ code: 'invalid_token', status: 400 }, 'unavailable'],
  limit: { action: 'reset' },
  // A refused password shows the form again (the token still works); anything else is a dead link.
  pageOnFailure(error, raw, services) {
    const token = linkToken.safeParse((raw.body as { token?: unknown } | undefined)?.token);
    const refusal = error.code === 'invalid_request' ? error.fields?.password : undefined;
    if (refusal && token.success) {
      return { status: 400, page: resetPasswordPage(token.data, services.config.passwords, `The password is not accepted: it ${refusal}.`) };
    }
    return { status: 400, page: resetFailedPage() };
  },
}).handle(async ({ body, ctx, services }) => {
  const { email } = await resetPassword(services, body.token, body.password);
  // Completing a mailed reset proves the owner: guesses from elsewhere must not keep them out of the new password.
  await services.rateLimits.liftAccountLimit('login', email, ctx.state.clientIp, ctx.state.log);
  return isFormPost(ctx) ? { status: 200, page: passwordResetDonePage() } : { status: 200, body: { message: 'success' } };
});
