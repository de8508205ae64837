import { z } from 'zod';
import { resendVerification } from '../../shared/domain/resend-verification.js';
import { verifyEmail } from '../../shared/domain/verify-email.js';
import { defineRoute } from '../contract/route-declaration.js';
import { isFormPost } from '../pages/render-page.js';
import { emailVerifiedPage, verificationFailedPage, verifyEmailPage } from '../pages/email-verification-pages.js';
import { linkToken, successMessage } from '../schemas.js';
import { mailedLinkPageRoute } from './mailed-link-page.js';

const linkFailure = () => ({ status: 400, page: verificationFailedPage() });

export const verifyEmailPageRoute = mailedLinkPageRoute({
  path: '/email/verify',
  operationId: 'verifyEmailPage',
  summary: 'The page of a verification link',
  description: 'The mailed link opens this page; its button posts the token.',
  tag: 'Email verification',
  page: verifyEmailPage,
  failedPage: verificationFailedPage,
});

export const verifyEmailRoute = defineRoute({
  method: 'post',
  path: '/email/verify',
  operationId: 'verifyEmail',
  summary: 'Confirm an email address with a mailed token',
  description: 'JSON clients get JSON; the page\'s form (urlencoded) gets a page.',
  tag: 'Email verification',
  access: 'public',
  request: { body: z.strictObject({ token: linkToken }), form: true },
  responses: {
    200: { description: 'Verified.', json: successMessage, html: true },
    400: { description: 'The form\'s link does not work.', html: true },
  },
  errors: [{ code: 'invalid_token', status: 400 }],
  limit: { action: 'verify' },
  pageOnFailure: linkFailure,
}).handle(async ({ body, ctx, services }) => {
  await verifyEmail(services.pool, body.token);
  return isFormPost(ctx) ? { status: 200, page: emailVerifiedPage() } : { status: 200, body: { message: 'success' } };
});

export const resendVerificationRoute = defineRoute({
  method: 'post',
  path: '/email/verify/resend',
  operationId: 'resendVerification',
  summary: 'Mail the verification link again',
  description: 'At most one mail a minute and `RATE_LIMIT_RESEND_ACCOUNT` a day. An address that is already verified answers 200 and nothing is sent.',
  tag: 'Email verification',
  access: 'bearer',
  responses: {
    200: { description: 'Already verified; nothing sent.', json: z.object({ message: z.literal('success'), email_verified: z.literal(true) }) },
    202: { description: 'A new verification mail is on its way.', json: successMessage },
  },
  limit: { action: 'resend', account: 'user' },
}).handle(async ({ auth, services }) => {
  const outcome = await resendVerification(services.pool, auth.userId);
  if (outcome === 'already-verified') return { status: 200, body: { message: 'success', email_verified: true } };
  return { status: 202, body: { message: 'success' } };
});
