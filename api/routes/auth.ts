import { z } from 'zod';
import { registerUser } from '../../shared/domain/register-user.js';
import { loginWithLimits } from '../../shared/rate-limit/login-with-limits.js';
import { defineRoute } from '../contract/route-declaration.js';
import { clientInfo } from '../middleware/koa-client-ip.js';
import { credentialsBody, localeField, optionalText, requiredString, timeZoneField, TOKEN_EXAMPLE, tokenBody } from '../schemas.js';
import { mfaRequiredBody, mfaRequiredReply, tokenReply } from '../token-response.js';

/** Lengths here only bound the input; the domain applies the real email and password rules. */
const registerBody = z.strictObject({
  email: requiredString(1024),
  password: requiredString(4096),
  display_name: optionalText(100),
  locale: localeField,
  time_zone: timeZoneField,
});

export const registerRoute = defineRoute({
  method: 'post',
  path: '/register',
  operationId: 'register',
  summary: 'Register an account',
  description:
    'Creates the account and mails a verification link. With `REGISTER_ENUMERATION_SAFE=true` a taken address answers the same 201 (with a `user_id` that is never stored) and its owner is mailed instead of a 409.',
  tag: 'Sign-in',
  access: 'public',
  request: { body: registerBody, example: { email: 'ada@example.com', password: 'a long passphrase of mine', locale: 'en' } },
  responses: {
    201: {
      description: 'The account exists; a verification mail is on its way.',
      json: z.object({ message: z.literal('success'), user_id: z.uuid() }),
      example: { message: 'success', user_id: '0b8f5c1e-4a63-4d47-9a55-3f0f2b9c6d11' },
    },
  },
  errors: ['email_taken', 'unavailable'],
  limit: { action: 'register', account: 'body-email' },
}).handle(async ({ body, services }) => {
  const { userId } = await registerUser(services, {
    email: body.email,
    password: body.password,
    displayName: body.display_name,
    locale: body.locale,
    timeZone: body.time_zone,
  });
  return { status: 201, body: { message: 'success', user_id: userId } };
});

export const loginRoute = defineRoute({
  method: 'post',
  path: '/login',
  operationId: 'login',
  summary: 'Sign in with email and password',
  description:
    'Unknown addresses and wrong passwords get the same 401 after the same work. The account state (locked, disabled, reset required) is told only after the right password. Failed attempts are limited per IP, per account and per both, with a progressive delay before the hard limit.',
  tag: 'Sign-in',
  access: 'public',
  request: { body: credentialsBody, example: { email: 'ada@example.com', password: 'a long passphrase of mine' } },
  responses: {
    200: {
      description:
        'Signed in: an access token and the first refresh token of a new session. For an account with a second factor, no session yet: `mfa_required` with an `mfa_token` (5 minutes, one use) for POST /login/mfa or the WebAuthn step, and the methods the account offers.',
      json: z.union([tokenBody, mfaRequiredBody]),
      example: TOKEN_EXAMPLE,
    },
  },
  errors: ['invalid_credentials', 'account_locked', 'account_disabled', 'password_reset_required', 'rate_limited', 'unavailable'],
}).handle(async ({ body, ctx, services, log }) => {
  const outcome = await loginWithLimits(services, body, clientInfo(ctx), log);
  return outcome.kind === 'signed-in' ? tokenReply(outcome.tokens) : mfaRequiredReply(outcome);
});
