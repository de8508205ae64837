import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import {
  finishWebauthnRegistration,
  finishWebauthnSecondStep,
  listOwnWebauthnCredentials,
  removeWebauthnCredential,
  requireWebauthn,
  signInWithPasskey,
  startPasskeySignIn,
  startWebauthnRegistration,
  startWebauthnSecondStep,
} from '../../shared/domain/second-factor/webauthn-factor.js';
import { clientInfo } from '../middleware/koa-client-ip.js';
import { defineRoute } from '../contract/route-declaration.js';
import { requiredString, timestamp, TOKEN_EXAMPLE, tokenBody, uuid } from '../schemas.js';
import { tokenReply } from '../token-response.js';
import type { AppContext } from '../app-state.js';

/*
 * Security keys and passkeys (WebAuthn, with @simplewebauthn/server): registration as a
 * second factor, the second step of a password sign-in, and a sign-in with a passkey
 * alone. The bodies are what the browser's PublicKeyCredential JSON methods give and take
 * (parseCreationOptionsFromJSON, parseRequestOptionsFromJSON, credential.toJSON()).
 */

const TAG = 'Second factors';
const password = requiredString(4096).optional().meta({ description: 'Needed unless the session signed in within the last 5 minutes.' });
const REAUTH_ERRORS = ['reauthentication_required', 'invalid_credentials', 'rate_limited', 'unavailable'] as const;
/** The answer of a finished sign-in step, and the refusals every one can meet besides a wrong answer. */
const SIGNED_IN = { 200: { description: 'Signed in.', json: tokenBody, example: TOKEN_EXAMPLE } } as const;
const SIGN_IN_REFUSALS = ['invalid_token', 'account_locked', 'account_disabled', 'password_reset_required', 'rate_limited', 'unavailable'] as const;

/** A base64url field of a credential, bounded (a COSE key or an attestation is a few KiB at most). */
const base64url = (max: number) => z.string({ error: 'must be a base64url string' }).min(1, { error: 'is required' }).max(max, { error: `must be at most ${max} characters` }).regex(/^[A-Za-z0-9_-]+$/, { error: 'must be base64url' });
const clientExtensionResults = z.looseObject({}).meta({ description: 'As the browser gives it (`credProps` is read).' });

const registrationResponse = z
  .looseObject({
    id: base64url(1366),
    rawId: base64url(1366),
    type: z.literal('public-key', { error: 'must be public-key' }),
    response: z.looseObject({
      clientDataJSON: base64url(8192),
      attestationObject: base64url(65536),
      transports: z.array(z.string().max(32)).max(16).optional(),
    }),
    authenticatorAttachment: z.string().max(32).optional(),
    clientExtensionResults,
  })
  .meta({ id: 'WebauthnRegistrationResponse', description: 'The new credential, as `credential.toJSON()` gives it.' });

const authenticationResponse = z
  .looseObject({
    id: base64url(1366),
    rawId: base64url(1366),
    type: z.literal('public-key', { error: 'must be public-key' }),
    response: z.looseObject({
      clientDataJSON: base64url(8192),
      authenticatorData: base64url(8192),
      signature: base64url(2048),
      userHandle: base64url(128).optional(),
    }),
    authenticatorAttachment: z.string().max(32).optional(),
    clientExtensionResults,
  })
  .meta({ id: 'WebauthnAssertion', description: 'The assertion, as `credential.toJSON()` gives it.' });

const descriptor = z.object({ id: z.string(), type: z.string().meta({ description: 'public-key' }), transports: z.array(z.string()).optional() });
const creationOptions = z
  .looseObject({
    challenge: z.string(),
    rp: z.object({ name: z.string(), id: z.string().optional() }),
    user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
    pubKeyCredParams: z.array(z.object({ type: z.literal('public-key'), alg: z.int() })),
    timeout: z.int().optional(),
    excludeCredentials: z.array(descriptor).optional(),
    authenticatorSelection: z.unknown().optional(),
    attestation: z.string().optional(),
    extensions: z.unknown().optional(),
  })
  .meta({ id: 'WebauthnCreationOptions', description: 'PublicKeyCredentialCreationOptionsJSON, for `PublicKeyCredential.parseCreationOptionsFromJSON`.' });
const requestOptions = z
  .looseObject({
    challenge: z.string(),
    rpId: z.string().optional(),
    timeout: z.int().optional(),
    allowCredentials: z.array(descriptor).optional(),
    userVerification: z.string().optional(),
    extensions: z.unknown().optional(),
  })
  .meta({ id: 'WebauthnRequestOptions', description: 'PublicKeyCredentialRequestOptionsJSON, for `PublicKeyCredential.parseRequestOptionsFromJSON`.' });

const credentialListing = z
  .object({
    id: z.uuid(),
    type: z.literal('webauthn'),
    label: z.string().nullable(),
    transports: z.array(z.string()),
    backup_eligible: z.boolean().meta({ description: 'The key may be synced (a passkey in a cloud keychain).' }),
    backed_up: z.boolean(),
    discoverable: z.boolean().nullable().meta({ description: 'Whether it can sign in alone as a passkey (a resident key), when the browser said.' }),
    added_at: timestamp,
    last_used_at: timestamp.nullable(),
  })
  .meta({ id: 'WebauthnCredential' });

function proofOf(ctx: AppContext, auth: { userId: string; sessionId: string }, body: { password?: string | undefined } | undefined) {
  return { userId: auth.userId, sessionId: auth.sessionId, ip: ctx.state.clientIp, password: body?.password, log: ctx.state.log };
}

const asListing = <T extends object>(credential: T) => ({ ...credential, type: 'webauthn' as const });

export const webauthnRegisterOptionsRoute = defineRoute({
  method: 'post',
  path: '/mfa/webauthn/register/options',
  operationId: 'webauthnRegisterOptions',
  summary: 'Start registering a security key or passkey',
  description:
    'Creation options for `navigator.credentials.create` (after `PublicKeyCredential.parseCreationOptionsFromJSON`): a resident key and user verification preferred, so the credential also signs in alone as a passkey; the account\'s credentials excluded. Its challenge lives 5 minutes and answers one registration. Needs a sign-in of the last 5 minutes or the password.',
  tag: TAG,
  access: 'bearer',
  limit: { action: 'mfa_change', account: 'user' },
  request: { body: z.strictObject({ password }) },
  responses: { 200: { description: 'The options.', json: z.object({ options: creationOptions }) } },
  errors: [...REAUTH_ERRORS],
}).handle(async ({ auth, body, ctx, services }) => {
  const options = await startWebauthnRegistration(services, proofOf(ctx, auth, body));
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: { options: { ...options } } };
});

export const webauthnRegisterVerifyRoute = defineRoute({
  method: 'post',
  path: '/mfa/webauthn/register/verify',
  operationId: 'webauthnRegisterVerify',
  summary: 'Finish registering a security key or passkey',
  description:
    'Stores the credential the browser created for the options of POST /mfa/webauthn/register/options (origin and relying party checked; that challenge is spent). From now on a password sign-in asks for a second step. The account\'s first factor also answers its recovery codes, shown once. Writes `MfaEnabled` (method `webauthn`); the owner is mailed.',
  tag: TAG,
  access: 'bearer',
  limit: { action: 'mfa_change', account: 'user' },
  request: {
    body: z.strictObject({ response: registrationResponse, label: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' }).max(100, { error: 'must be at most 100 characters' }).optional(), password }),
  },
  responses: {
    201: {
      description: 'Registered.',
      json: z.object({
        credential: credentialListing,
        recovery_codes: z.array(z.string()).length(10).optional().meta({ description: 'Only with the account\'s first factor; shown once, each works once.' }),
      }),
    },
  },
  errors: [...REAUTH_ERRORS, 'conflict'],
}).handle(async ({ auth, body, ctx, services }) => {
  const registered = await finishWebauthnRegistration(services, proofOf(ctx, auth, body), body.response as unknown as RegistrationResponseJSON, body.label);
  return {
    status: 201,
    headers: { 'Cache-Control': 'no-store' },
    body: { credential: asListing(registered.credential), ...(registered.recoveryCodes ? { recovery_codes: registered.recoveryCodes } : {}) },
  };
});

export const listWebauthnCredentialsRoute = defineRoute({
  method: 'get',
  path: '/mfa/webauthn/credentials',
  operationId: 'listWebauthnCredentials',
  summary: 'The security keys and passkeys of the account',
  description: 'Without keys or credential ids.',
  tag: TAG,
  access: 'bearer',
  responses: { 200: { description: 'The credentials, oldest first.', json: z.object({ credentials: z.array(credentialListing) }) } },
  errors: ['unavailable'],
}).handle(async ({ auth, services }) => {
  requireWebauthn(services.config.webauthn);
  const credentials = await listOwnWebauthnCredentials(services, auth.userId);
  return { status: 200, body: { credentials: credentials.map(asListing) } };
});

export const deleteWebauthnCredentialRoute = defineRoute({
  method: 'delete',
  path: '/mfa/webauthn/credentials/:id',
  operationId: 'deleteWebauthnCredential',
  summary: 'Remove a security key or passkey',
  description:
    'Needs a sign-in of the last 5 minutes or the password in the body. Writes `MfaDisabled` (method `webauthn`); the owner is mailed; with the last factor the recovery codes go too. Another user\'s or an unknown id: 404.',
  tag: TAG,
  access: 'bearer',
  limit: { action: 'mfa_change', account: 'user' },
  request: { params: z.object({ id: uuid }), body: z.strictObject({ password }) },
  responses: { 204: { description: 'Removed.' } },
  errors: [...REAUTH_ERRORS],
}).handle(async ({ auth, body, params, ctx, services }) => {
  await removeWebauthnCredential(services, proofOf(ctx, auth, body), params.id.toLowerCase());
  return { status: 204 };
});

export const loginWebauthnOptionsRoute = defineRoute({
  method: 'post',
  path: '/login/webauthn/options',
  operationId: 'loginWebauthnOptions',
  summary: 'Ask for the security key step of a sign-in',
  description:
    'For an `mfa_token` of POST /login whose account has a security key or passkey: request options for `navigator.credentials.get` listing its credentials. The challenge is kept with the mfa_token and answers one assertion; asking again replaces it. 409 for an account without one.',
  tag: 'Sign-in',
  access: 'public',
  request: { body: z.strictObject({ mfa_token: requiredString(512) }) },
  responses: { 200: { description: 'The options.', json: z.object({ options: requestOptions }) } },
  errors: ['invalid_token', 'conflict', 'unavailable'],
}).handle(async ({ body, services }) => {
  const options = await startWebauthnSecondStep(services, body.mfa_token);
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: { options: { ...options } } };
});

export const loginWebauthnVerifyRoute = defineRoute({
  method: 'post',
  path: '/login/webauthn/verify',
  operationId: 'loginWebauthnVerify',
  summary: 'Finish a sign-in with a security key or passkey',
  description:
    'The second step answered with an assertion for the options of POST /login/webauthn/options. The access token\'s `amr` is `["pwd", "hwk", "mfa"]` (`swk` for a key that may be synced). An assertion that does not verify (signature, origin, relying party, a spent challenge, a signature counter that did not move forward) is 401 `invalid_code` and a failed sign-in attempt, under the same limits as a wrong code.',
  tag: 'Sign-in',
  access: 'public',
  request: { body: z.strictObject({ mfa_token: requiredString(512), response: authenticationResponse }) },
  responses: SIGNED_IN,
  errors: ['invalid_code', ...SIGN_IN_REFUSALS],
}).handle(async ({ body, ctx, services, log }) => {
  const issued = await finishWebauthnSecondStep(services, { mfaToken: body.mfa_token, response: body.response as unknown as AuthenticationResponseJSON, client: clientInfo(ctx), log });
  return tokenReply(issued);
});

export const loginPasskeyOptionsRoute = defineRoute({
  method: 'post',
  path: '/login/passkey/options',
  operationId: 'loginPasskeyOptions',
  summary: 'Start a sign-in with a passkey',
  description:
    'Request options without `allowCredentials` (the browser offers the passkeys it holds for this site) and user verification required, with a `passkey_token` (5 minutes, one sign-in) for POST /login/passkey/verify. Limited per address (`RATE_LIMIT_PASSKEY_IP`).',
  tag: 'Sign-in',
  access: 'public',
  responses: {
    200: {
      description: 'The options and the token that carries their challenge.',
      json: z.object({ options: requestOptions, passkey_token: z.string().meta({ description: 'For POST /login/passkey/verify; not an access token.' }) }),
    },
  },
  errors: ['unavailable'],
  limit: { action: 'passkey' },
}).handle(async ({ ctx, services }) => {
  const { options, passkeyToken } = await startPasskeySignIn(services, clientInfo(ctx));
  return { status: 200, headers: { 'Cache-Control': 'no-store' }, body: { options: { ...options }, passkey_token: passkeyToken } };
});

export const loginPasskeyVerifyRoute = defineRoute({
  method: 'post',
  path: '/login/passkey/verify',
  operationId: 'loginPasskeyVerify',
  summary: 'Sign in with a passkey alone',
  description:
    'The assertion for the options of POST /login/passkey/options; the credential names the account (and its user handle must match). A sign-in like a password one: the login limits, a login attempt, `LoginSucceeded` and the anomaly scoring; a locked or disabled account is refused (403), a deleted one, an unknown passkey or an assertion that does not verify is 401 `invalid_credentials`. `amr` is `["hwk", "mfa"]` (`swk` for a synced passkey): possession of the key plus the authenticator\'s user verification.',
  tag: 'Sign-in',
  access: 'public',
  request: { body: z.strictObject({ passkey_token: requiredString(512), response: authenticationResponse }) },
  responses: SIGNED_IN,
  errors: ['invalid_credentials', ...SIGN_IN_REFUSALS],
}).handle(async ({ body, ctx, services, log }) => {
  const issued = await signInWithPasskey(services, { passkeyToken: body.passkey_token, response: body.response as unknown as AuthenticationResponseJSON, client: clientInfo(ctx), log });
  return tokenReply(issued);
});

export const WEBAUTHN_ROUTES = [
  webauthnRegisterOptionsRoute,
  webauthnRegisterVerifyRoute,
  listWebauthnCredentialsRoute,
  deleteWebauthnCredentialRoute,
] as const;
export const WEBAUTHN_LOGIN_ROUTES = [loginWebauthnOptionsRoute, loginWebauthnVerifyRoute, loginPasskeyOptionsRoute, loginPasskeyVerifyRoute] as const;
