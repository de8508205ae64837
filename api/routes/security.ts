import { z } from 'zod';
import { confirmNotMe } from '../../shared/domain/anomaly/not-me.js';
import { defineRoute } from '../contract/route-declaration.js';
import { confirmNotMePage, notMeDonePage, notMeFailedPage } from '../pages/not-me-pages.js';
import { isFormPost } from '../pages/render-page.js';
import { linkToken } from '../schemas.js';
import { mailedLinkPageRoute } from './mailed-link-page.js';

const linkFailure = () => ({ status: 400, page: notMeFailedPage() });

export const notMePageRoute = mailedLinkPageRoute({
  path: '/security/not-me',
  operationId: 'notMePage',
  summary: 'The page of a "this wasn\'t me" link',
  description: 'The link of a new-sign-in notice opens this page; its button posts the token.',
  tag: 'Security',
  page: confirmNotMePage,
  failedPage: notMeFailedPage,
});

export const notMeRoute = defineRoute({
  method: 'post',
  path: '/security/not-me',
  operationId: 'confirmNotMe',
  summary: 'Disown a sign-in from a new-sign-in notice',
  description: 'Every session is revoked and a password reset is required; the sign-in\'s network stops counting as known. JSON clients get JSON; the page\'s form gets a page.',
  tag: 'Security',
  access: 'public',
  request: { body: z.strictObject({ token: linkToken }), form: true },
  responses: {
    200: { description: 'Done.', json: z.object({ message: z.literal('success'), sessions_revoked: z.int().nonnegative() }), html: true },
    400: { description: 'The form\'s link does not work.', html: true },
  },
  errors: [{ code: 'invalid_token', status: 400 }],
  limit: { action: 'verify' },
  pageOnFailure: linkFailure,
}).handle(async ({ body, ctx, services }) => {
  const { sessionsRevoked } = await confirmNotMe(services.pool, body.token);
  return isFormPost(ctx) ? { status: 200, page: notMeDonePage() } : { status: 200, body: { message: 'success', sessions_revoked: sessionsRevoked } };
});
