import { z } from 'zod';
import { activateTotp, enrollTotp, recoveryCodeAnswer, removeTotp, renewRecoveryCodes, totpAnswer } from '../../shared/domain/second-factor/totp-factor.js';
import { completeSecondStep } from '../../shared/domain/sign-in/complete-second-step.js';
import { clientInfo } from '../middleware/koa-client-ip.js';
import { defineRoute } from '../contract/route-declaration.js';
import { requiredString, TOKEN_EXAMPLE, tokenBody } from '../schemas.js';
import { tokenReply } from '../token-response.js';
import type { AppContext } from '../app-state.js';

/*
 * TOTP and recovery codes, and the second step of a sign-in that answers with them.
 * Changing factors needs a sign-in within the last 5 minutes or the password in the body.
 */

const totpCode = z.string({ error: 'must be a string' }).regex(/^\d{6}$/, { error: 'must be the 6 digits the app shows' });
const password = requiredString(4096).optional().meta({ description: 'Needed unless the session signed in within the last 5 minutes.' });
const recoveryCodes = z.object({ recovery_codes: z.array(z.string()).length(10).meta({ description: 'Shown once; each works once.' }) });

/** The proof a change takes: the signed-in user, and a code or the password. */
function proofOf(ctx: AppContext, auth: { userId: string; sessionId: string }, body: { password?: string | undefined; code?: string | undefined }) {
  return { userId: auth.userId, sessionId: auth.sessionId, ip: ctx.state.clientIp, password: body.password, code: body.code, log: ctx.state.log };
}

const REAUTH_ERRORS = ['reauthentication_required', 'invalid_credentials', 'rate_limited', 'unavailable'] as const;

export const enrollTotpRoute = defineRoute({
  method: 'post',
  path: '/mfa/totp/enroll',
  operationId: 'enrollTotp',
  summary: 'Start setting up an authenticator app',
  description: 'A new secret and its `otpauth://` URI (for a QR code). Nothing changes at sign-in until POST /mfa/totp/activate confirms a first code.',
  tag: 'Second factors',
  access: 'bearer',
  limit: { action: 'mfa_change', account: 'user' },
  request: { body: z.strictObject({ password }) },
  responses: {
    200: {
      description: 'The secret, to scan or type into the app.',
      json: z.object({ secret: z.string().regex(/^[A-Z2-7]+$/), otpauth_uri: z.string().regex(/^otpauth:\/\/totp\//) }),
    },
  },
  errors: [...REAUTH_ERRORS, 'conflict'],
}).handle(async ({ auth, body, ctx, services }) => {
  const { secret, otpauthUri } = await enrollTotp(services, proofOf(ctx, auth, body));
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: { secret, otpauth_uri: otpauthUri } };
});

export const activateTotpRoute = defineRoute({
  method: 'post',
  path: '/mfa/totp/activate',
  operationId: 'activateTotp',
  summary: 'Turn the authenticator app on with a first code',
  description: 'From now on a sign-in with the password asks for a code. Answers the account\'s recovery codes, shown once (an earlier set stops working). Writes `MfaEnabled`; the owner is mailed.',
  tag: 'Second factors',
  access: 'bearer',
  limit: { action: 'mfa_change', account: 'user' },
  request: { body: z.strictObject({ code: totpCode, password }), example: { code: '123456' } },
  responses: { 200: { description: 'On; the recovery codes.', json: recoveryCodes } },
  errors: [...REAUTH_ERRORS, 'invalid_code', 'conflict'],
}).handle(async ({ auth, body, ctx, services }) => {
  const codes = await activateTotp(services, proofOf(ctx, auth, body), body.code);
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: { recovery_codes: codes } };
});

const codeOrPassword = z
  .strictObject({ code: totpCode.optional(), password })
  .refine((proof) => proof.code !== undefined || proof.password !== undefined, { error: 'needs a current code or the password', path: ['code'] });

export const removeTotpRoute = defineRoute({
  method: 'delete',
  path: '/mfa/totp',
  operationId: 'removeTotp',
  summary: 'Turn the authenticator app off',
  description: 'With a current code (on a sign-in of the last 5 minutes) or the password. Writes `MfaDisabled`; with the last factor the recovery codes go too.',
  tag: 'Second factors',
  access: 'bearer',
  limit: { action: 'mfa_change', account: 'user' },
  request: { body: codeOrPassword },
  responses: { 204: { description: 'Off.' } },
  errors: [...REAUTH_ERRORS, 'invalid_code', 'not_found'],
}).handle(async ({ auth, body, ctx, services }) => {
  await removeTotp(services, proofOf(ctx, auth, body));
  return { status: 204 };
});

export const renewRecoveryCodesRoute = defineRoute({
  method: 'post',
  path: '/mfa/recovery-codes',
  operationId: 'renewRecoveryCodes',
  summary: 'A new set of recovery codes',
  description: 'With a current code (on a sign-in of the last 5 minutes) or the password; the old set stops working. Writes `MfaEnabled` (method `recovery_codes`).',
  tag: 'Second factors',
  access: 'bearer',
  limit: { action: 'mfa_change', account: 'user' },
  request: { body: codeOrPassword },
  responses: { 200: { description: 'The codes, shown once.', json: recoveryCodes } },
  errors: [...REAUTH_ERRORS, 'invalid_code', 'conflict'],
}).handle(async ({ auth, body, ctx, services }) => {
  const codes = await renewRecoveryCodes(services, proofOf(ctx, auth, body));
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: { recovery_codes: codes } };
});

const secondStepBody = z
  .strictObject({
    mfa_token: requiredString(512),
    code: totpCode.optional(),
    recovery_code: z.string({ error: 'must be a string' }).min(1, { error: 'is required' }).max(64, { error: 'is not a recovery code' }).optional(),
  })
  .refine((body) => (body.code === undefined) !== (body.recovery_code === undefined), { error: 'send either code or recovery_code', path: ['code'] });

export const loginMfaRoute = defineRoute({
  method: 'post',
  path: '/login/mfa',
  operationId: 'loginSecondStep',
  summary: 'Finish a sign-in with a TOTP code or a recovery code',
  description:
    'The second step after POST /login answered `mfa_required`. A wrong or used code is 401 `invalid_code` (a failed sign-in attempt); after 5 the mfa_token is dead (401 `invalid_token`), and wrong codes are also limited per account and address.',
  tag: 'Sign-in',
  access: 'public',
  request: { body: secondStepBody, example: { mfa_token: 'r9v2wQ...', code: '492039' } },
  responses: { 200: { description: 'Signed in.', json: tokenBody, example: TOKEN_EXAMPLE } },
  errors: ['invalid_token', 'invalid_code', 'account_locked', 'account_disabled', 'password_reset_required', 'rate_limited'],
}).handle(async ({ body, ctx, services, log }) => {
  const answer = body.code !== undefined ? totpAnswer(services, body.code) : recoveryCodeAnswer(body.recovery_code!);
  const issued = await completeSecondStep(services, { token: body.mfa_token, purpose: 'login', client: clientInfo(ctx), log }, answer);
  return tokenReply(issued);
});
