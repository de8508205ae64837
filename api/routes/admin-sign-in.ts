import { z } from 'zod';
import { completeAdminSecondStep, signInAdmin, signOutAdmin, type AdminSignIn } from '../../shared/domain/admin-sign-in.js';
import type { Services } from '../../shared/services.js';
import { defineRoute } from '../contract/route-declaration.js';
import { adminCookie, adminCookieToken, clearedAdminCookie } from '../dashboard/admin-cookie.js';
import { DASHBOARD_PATH, SIGN_IN_PATH, SIGN_OUT_PATH } from '../dashboard/dashboard-paths.js';
import { clientInfo } from '../middleware/koa-client-ip.js';
import { adminSecondStepPage, adminSignedInPage, adminSignedOutPage, adminSignInPage, adminSignOutPage, notAdminPage } from '../pages/admin-sign-in-pages.js';
import { credentialsBody, requiredString } from '../schemas.js';

/*
 * The queue dashboard's sign-in for people at a browser: a form, and a short-lived
 * cookie (api/dashboard/admin-cookie.ts) that the dashboard accepts as it accepts an
 * admin's Bearer token.
 */

const TAG = 'Dashboard';

const redirectHeaders = {
  Location: { description: 'Where the browser goes next.', schema: z.string() },
  'Set-Cookie': { description: 'The dashboard cookie (`admin_session`, HttpOnly, SameSite=Strict, Path=/admin; Secure with an https PUBLIC_URL).', schema: z.string() },
};

export const adminSignInPageRoute = defineRoute({
  method: 'get',
  path: SIGN_IN_PATH,
  operationId: 'adminSignInPage',
  summary: "The queue dashboard's sign-in form",
  description: 'Posts `email` and `password` to the same path.',
  tag: TAG,
  access: 'public',
  responses: { 200: { description: 'The form.', html: true } },
}).handle(() => ({ status: 200, page: adminSignInPage() }));

export const adminSignInRoute = defineRoute({
  method: 'post',
  path: SIGN_IN_PATH,
  operationId: 'adminSignIn',
  summary: 'Sign in to the queue dashboard',
  description:
    'The same sign-in as `POST /login` (its limits, its answers, a `login_attempts` row), and then the account must have the role `admin`. An administrator gets the dashboard cookie, holding an access token of a new session and living as long as it, and is sent to `/admin/queues`; anyone else gets 403, no cookie, and the session the sign-in opened is ended at once (`SessionRevoked`, reason `not_admin`).',
  tag: TAG,
  access: 'public',
  request: { body: credentialsBody, form: true },
  responses: {
    200: { description: 'The account has a second factor: the form for its code.', html: true },
    303: { description: 'Signed in: on to the dashboard, with its cookie.', html: true, headers: redirectHeaders },
    401: { description: 'The form again: the email or password is wrong.', html: true },
    403: { description: 'The account is not an administrator (or, as for `POST /login`, locked, disabled or due a password reset).', html: true },
  },
  errors: ['invalid_credentials', 'account_locked', 'account_disabled', 'password_reset_required', 'rate_limited', 'unavailable'],
  // The form again with the reason, as POST /login would give it; a spent limit gets the
  // error handler's page, which says how long to wait (Retry-After).
  pageOnFailure(error, raw) {
    if (error.code === 'rate_limited') return undefined;
    const email = (raw.body as { email?: unknown } | undefined)?.email;
    const message = error.code === 'invalid_request' ? 'Enter your email address and your password.' : error.message;
    return { status: error.status, page: adminSignInPage({ email: typeof email === 'string' ? email : undefined, error: message }) };
  },
}).handle(async ({ body, ctx, services, log }) => {
  const signIn = await signInAdmin(services, body, clientInfo(ctx), log);
  return signIn.status === 'second_step' ? { status: 200, page: adminSecondStepPage(signIn.mfaToken) } : admitted(services, signIn);
});

/** The answer to a finished dashboard sign-in: the cookie and the dashboard, or 403. */
function admitted(services: Services, signIn: Exclude<AdminSignIn, { status: 'second_step' }>) {
  if (signIn.status === 'not_admin') return { status: 403, page: notAdminPage() } as const;
  const { accessToken, expiresIn } = signIn.issued;
  return { status: 303, page: adminSignedInPage(), headers: { Location: DASHBOARD_PATH, 'Set-Cookie': adminCookie(services.config, accessToken, expiresIn) } } as const;
}

const secondStepForm = z.strictObject({
  mfa_token: requiredString(512),
  code: z.string({ error: 'must be a string' }).trim().min(1, { error: 'is required' }).max(64, { error: 'is not a code' }),
});

export const adminSecondStepRoute = defineRoute({
  method: 'post',
  path: `${SIGN_IN_PATH}/mfa`,
  operationId: 'adminSignInSecondStep',
  summary: 'Finish a dashboard sign-in with a code',
  description:
    'For an account with a second factor, POST /admin/login answers a form for a code instead of the cookie. This takes its `mfa_token` and a 6-digit code from the authenticator app or a recovery code, as POST /login/mfa does; an administrator then gets the cookie.',
  tag: TAG,
  access: 'public',
  request: { body: secondStepForm, form: true },
  responses: {
    303: { description: 'Signed in: on to the dashboard, with its cookie.', html: true, headers: redirectHeaders },
    401: { description: 'The code form again (a wrong code), or the sign-in form (the mfa_token is spent or expired).', html: true },
    403: { description: 'The account is not an administrator.', html: true },
  },
  errors: ['invalid_code', 'invalid_token', 'account_locked', 'account_disabled', 'password_reset_required', 'rate_limited'],
  pageOnFailure(error, raw) {
    if (error.code === 'rate_limited') return undefined;
    const mfaToken = (raw.body as { mfa_token?: unknown } | undefined)?.mfa_token;
    if (error.code === 'invalid_code' && typeof mfaToken === 'string') return { status: 401, page: adminSecondStepPage(mfaToken, error.message) };
    const message = error.code === 'invalid_token' || error.code === 'invalid_request' ? 'The sign-in expired; sign in again.' : error.message;
    return { status: error.status, page: adminSignInPage({ error: message }) };
  },
}).handle(async ({ body, ctx, services, log }) => admitted(services, await completeAdminSecondStep(services, body.mfa_token, body.code, clientInfo(ctx), log)));

export const adminSignOutPageRoute = defineRoute({
  method: 'get',
  path: SIGN_OUT_PATH,
  operationId: 'adminSignOutPage',
  summary: "The dashboard's sign-out button",
  description: 'The dashboard links here; the button posts to the same path. Fetching it changes nothing.',
  tag: TAG,
  access: 'public',
  responses: { 200: { description: 'The page with its button.', html: true } },
}).handle(() => ({ status: 200, page: adminSignOutPage() }));

export const adminSignOutRoute = defineRoute({
  method: 'post',
  path: SIGN_OUT_PATH,
  operationId: 'adminSignOut',
  summary: 'Sign out of the queue dashboard',
  description: "Ends the session of the dashboard cookie's token (reason `logout`), if it is still live, clears the cookie and sends the browser to the sign-in form.",
  tag: TAG,
  access: 'public',
  request: { body: z.strictObject({}), form: true },
  responses: { 303: { description: 'Signed out: back to the sign-in form, the cookie cleared.', html: true, headers: redirectHeaders } },
}).handle(async ({ ctx, services }) => {
  const token = adminCookieToken(ctx);
  if (token) await signOutAdmin(services, token);
  return { status: 303, page: adminSignedOutPage(), headers: { Location: SIGN_IN_PATH, 'Set-Cookie': clearedAdminCookie(services.config) } };
});
