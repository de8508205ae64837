import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { WebauthnConfig } from '../../config/config.js';
import { loadOnce } from '../../load-once.js';
import { hashToken, randomToken } from '../../crypto/random-token.js';
import { withTransaction } from '../../db/pool.js';
import { insertLoginAttempt } from '../../db/queries/login-attempts.js';
import { countFailedMfaAnswer, insertMfaChallenge, lockLiveMfaChallenge, setWebauthnChallenge } from '../../db/queries/mfa-challenges.js';
import { findActiveMfaTypes } from '../../db/queries/mfa-methods.js';
import { lockUser } from '../../db/queries/users.js';
import {
  clearWebauthnChallenge,
  deleteWebauthnCredential,
  findWebauthnCredentialOwner,
  findWebauthnCredentialsOfUser,
  insertWebauthnCredential,
  listWebauthnCredentials,
  lockWebauthnCredential,
  recordWebauthnUse,
  takeRegistrationChallenge,
  voidRegistrationChallenges,
  type WebauthnCredentialListing,
} from '../../db/queries/webauthn-credentials.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Services } from '../../services.js';
import type { ClientInfo } from '../login-user.js';
import type { IssuedTokens } from '../open-session.js';
import { completeSecondStep, type AnswerCheck, type SecondStepDeps } from '../sign-in/complete-second-step.js';
import { MFA_TOKEN_MAX_FAILURES, MFA_TOKEN_TTL_SECONDS } from '../sign-in/start-second-step.js';
import { requireFreshSignIn, type Reauthentication } from './fresh-sign-in.js';
import { recordFactorChange } from './record-factor-change.js';
import { dropRecoveryCodesWithoutFactors, issueRecoveryCodes } from './recovery-codes.js';

/**
 * @simplewebauthn/server, loaded by the first WebAuthn request: it takes about 0.3 s to
 * load, a quarter of a web process's start, for a feature most requests never touch.
 */
const webauthnLibrary = loadOnce(() => import('@simplewebauthn/server'));

/**
 * COSE algorithms offered and accepted, given explicitly so a Node upgrade does not change
 * them: EdDSA (-8), ES256 (-7), RS256 (-257), in the order of preference.
 */
export const WEBAUTHN_ALGORITHMS = [-8, -7, -257];
/** How long a browser may take over one ceremony (the challenge lives as long as an mfa_token). */
const CEREMONY_TIMEOUT_MS = 120_000;
const CHALLENGE_TTL_SECONDS = MFA_TOKEN_TTL_SECONDS;
const DEFAULT_LABEL = 'Security key or passkey';

type WebauthnDeps = Pick<Services, 'pool' | 'hasher' | 'rateLimits' | 'config'>;

/** 503 while the relying party cannot work (an IP-address RP id): the routes say so, the rest of the API works. */
export function requireWebauthn(config: WebauthnConfig): void {
  if (config.unavailableReason) {
    throw new AppError('unavailable', { message: 'Security keys and passkeys are not available on this server (its WebAuthn relying party is not set up).', headers: { 'Retry-After': '3600' } });
  }
}

/** The WebAuthn user.id of an account: its uuid's 16 bytes (no address, nothing personal). */
function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/**
 * RFC 8176 for an assertion: `hwk` for a key bound to its device, `swk` for one that may
 * be synced (backup eligible: the key lives in a cloud keychain's software).
 */
function keyAmr(backupEligible: boolean): 'hwk' | 'swk' {
  return backupEligible ? 'swk' : 'hwk';
}

/**
 * Creation options for a new credential (a fresh sign-in or the password first, as every
 * factor change): a resident key and user verification preferred, so one registration
 * serves both as a second factor and as a passkey; the user's credentials excluded. The
 * challenge is kept for this user alone, 5 minutes, single use; a newer one voids it.
 */
export async function startWebauthnRegistration(deps: WebauthnDeps, who: Reauthentication): Promise<PublicKeyCredentialCreationOptionsJSON> {
  requireWebauthn(deps.config.webauthn);
  await requireFreshSignIn(deps, who);
  const { rpId, rpName } = deps.config.webauthn;
  return withTransaction(deps.pool, async (tx) => {
    const user = await lockUser(tx, who.userId);
    if (!user) throw new AppError('unauthorized');
    const existing = await findWebauthnCredentialsOfUser(tx, who.userId);
    const options = await (await webauthnLibrary()).generateRegistrationOptions({
      rpName,
      rpID: rpId,
      userName: user.email,
      userID: userHandleOf(who.userId),
      userDisplayName: user.email,
      timeout: CEREMONY_TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((credential) => ({ id: credential.credential_id, transports: credential.transports })),
      authenticatorSelection: { residentKey: 'preferred', requireResidentKey: false, userVerification: 'preferred' },
      supportedAlgorithmIDs: WEBAUTHN_ALGORITHMS,
      extensions: { credProps: true },
    });
    await voidRegistrationChallenges(tx, who.userId);
    await insertMfaChallenge(tx, {
      userId: who.userId,
      purpose: 'register',
      tokenHash: hashToken(randomToken()),
      ttlSeconds: CHALLENGE_TTL_SECONDS,
      ip: who.ip,
      userAgent: undefined,
      webauthnChallenge: options.challenge,
    });
    return options;
  });
}

export interface RegisteredCredential {
  credential: WebauthnCredentialListing;
  /** A first set, when the account had none: a lost key must not lock its owner out. */
  recoveryCodes: string[] | undefined;
}

const REGISTRATION_FAILED = 'The authenticator\'s answer does not match a registration this account asked for (challenge, origin or relying party), or it has expired; ask for new options.';

/**
 * Verifies the browser's answer to the registration's challenge (spent by this attempt,
 * right or wrong) and stores the credential as a `webauthn` row of mfa_methods. The
 * first factor of an account also brings its recovery codes. MfaEnabled (audited and
 * mailed). 400 for an answer that does not verify, 409 for a credential already stored.
 */
export async function finishWebauthnRegistration(deps: WebauthnDeps, who: Reauthentication, response: RegistrationResponseJSON, label: string | undefined): Promise<RegisteredCredential> {
  requireWebauthn(deps.config.webauthn);
  await requireFreshSignIn(deps, who);
  const { rpId, origins } = deps.config.webauthn;
  const expectedChallenge = await takeRegistrationChallenge(deps.pool, who.userId);
  if (!expectedChallenge) throw new AppError('invalid_request', { message: REGISTRATION_FAILED });
  let verified;
  try {
    verified = await (await webauthnLibrary()).verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: origins,
      expectedRPID: rpId,
      requireUserVerification: false,
      supportedAlgorithmIDs: WEBAUTHN_ALGORITHMS,
    });
  } catch (error) {
    who.log?.info({ reason: (error as Error).message }, 'WebAuthn registration did not verify');
    throw new AppError('invalid_request', { message: REGISTRATION_FAILED });
  }
  if (!verified.verified) throw new AppError('invalid_request', { message: REGISTRATION_FAILED });
  const info = verified.registrationInfo;
  return withTransaction(deps.pool, async (tx) => {
    const user = await lockUser(tx, who.userId);
    if (!user) throw new AppError('unauthorized');
    const firstFactor = (await findActiveMfaTypes(tx, who.userId)).length === 0;
    const stored = await insertWebauthnCredential(tx, {
      userId: who.userId,
      label: label ?? DEFAULT_LABEL,
      credentialId: info.credential.id,
      publicKey: base64url(info.credential.publicKey),
      signCount: info.credential.counter,
      transports: info.credential.transports ?? response.response.transports ?? [],
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp,
      discoverable: response.clientExtensionResults?.credProps?.rk,
      aaguid: info.aaguid,
      userHandle: base64url(userHandleOf(who.userId)),
    });
    if (!stored) throw new AppError('conflict', { message: 'This security key or passkey is registered already.' });
    await recordFactorChange(tx, { userId: who.userId, method: 'webauthn', methodId: stored.id }, true);
    const recoveryCodes = firstFactor ? await issueRecoveryCodes(tx, who.userId) : undefined;
    if (recoveryCodes) await recordFactorChange(tx, { userId: who.userId, method: 'recovery_codes' }, true);
    const [listing] = (await listWebauthnCredentials(tx, who.userId)).filter((credential) => credential.id === stored.id);
    return { credential: listing!, recoveryCodes };
  });
}

export function listOwnWebauthnCredentials(deps: Pick<Services, 'pool'>, userId: string): Promise<WebauthnCredentialListing[]> {
  return listWebauthnCredentials(deps.pool, userId);
}

/**
 * Removes one credential (a fresh sign-in or the password); MfaDisabled. The recovery
 * codes go with the last factor. 404 for a credential the user does not have.
 */
export async function removeWebauthnCredential(deps: WebauthnDeps, who: Reauthentication, id: string): Promise<void> {
  requireWebauthn(deps.config.webauthn);
  await requireFreshSignIn(deps, who);
  await withTransaction(deps.pool, async (tx) => {
    await lockUser(tx, who.userId);
    const removed = await deleteWebauthnCredential(tx, who.userId, id);
    if (!removed) throw new AppError('not_found', { message: 'No such security key or passkey.' });
    await recordFactorChange(tx, { userId: who.userId, method: 'webauthn', methodId: removed }, false);
    await dropRecoveryCodesWithoutFactors(tx, who.userId);
  });
}

/**
 * Request options for the second step of a password sign-in: the account's credentials
 * allowed, a new challenge kept with the mfa_token's row (a newer one replaces it; the
 * first assertion spends it). 401 invalid_token for a dead token, 409 for an account
 * without a credential.
 */
export async function startWebauthnSecondStep(deps: Pick<Services, 'pool' | 'config'>, mfaToken: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
  requireWebauthn(deps.config.webauthn);
  return withTransaction(deps.pool, async (tx) => {
    const challenge = await lockLiveMfaChallenge(tx, hashToken(mfaToken), 'login', MFA_TOKEN_MAX_FAILURES);
    if (!challenge?.user_id) throw new AppError('invalid_token');
    const credentials = await findWebauthnCredentialsOfUser(tx, challenge.user_id);
    if (credentials.length === 0) throw new AppError('conflict', { message: 'This account has no security key or passkey; answer with a code.' });
    const options = await (await webauthnLibrary()).generateAuthenticationOptions({
      rpID: deps.config.webauthn.rpId,
      allowCredentials: credentials.map((credential) => ({ id: credential.credential_id, transports: credential.transports })),
      timeout: CEREMONY_TIMEOUT_MS,
      userVerification: 'preferred',
    });
    await setWebauthnChallenge(tx, challenge.id, options.challenge);
    return options;
  });
}

/**
 * An assertion as the answer to a challenge: the challenge's WebAuthn challenge (cleared
 * by this attempt, right or wrong: one assertion per challenge, so a replay finds none),
 * the user's credential, origin and RP id from the configuration, and a signature counter
 * that moved forward (a counter that did not is refused, logged and recorded as
 * `webauthn_counter_regressed`: a cloned key or a replay). A passkey must also carry the
 * user handle it was registered under and user verification. The counter, the backup
 * state and `last_used_at` are written on success.
 */
export function webauthnAnswer(deps: Pick<Services, 'config'>, response: AuthenticationResponseJSON, options: { passkey: boolean; log?: Logger | undefined }): AnswerCheck {
  const { rpId, origins } = deps.config.webauthn;
  return async (tx, userId, challenge) => {
    const expectedChallenge = challenge.webauthn_challenge;
    if (!expectedChallenge) return undefined;
    await clearWebauthnChallenge(tx, challenge.id);
    const credential = await lockWebauthnCredential(tx, userId, response.id);
    if (!credential) return undefined;
    if (options.passkey && response.response.userHandle !== credential.user_handle) return undefined;
    let verified;
    try {
      // The counter is judged below, after the signature, so that a regression is told apart.
      verified = await (await webauthnLibrary()).verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: origins,
        expectedRPID: rpId,
        credential: { id: credential.credential_id, publicKey: new Uint8Array(Buffer.from(credential.public_key, 'base64url')), counter: 0, transports: credential.transports },
        requireUserVerification: options.passkey,
      });
    } catch (error) {
      options.log?.info({ reason: (error as Error).message, method_id: credential.id }, 'WebAuthn assertion did not verify');
      return undefined;
    }
    if (!verified.verified) return undefined;
    const { newCounter, credentialBackedUp } = verified.authenticationInfo;
    if ((newCounter > 0 || credential.sign_count > 0) && newCounter <= credential.sign_count) {
      options.log?.warn({ user_id: userId, method_id: credential.id, stored_counter: credential.sign_count, counter: newCounter }, 'WebAuthn signature counter did not move forward: refused (a cloned authenticator or a replay)');
      return { wrong: 'webauthn_counter_regressed' };
    }
    await recordWebauthnUse(tx, credential.id, newCounter, credentialBackedUp);
    // A passkey alone proves possession and, by its user verification, a second factor.
    return options.passkey ? [keyAmr(credential.backup_eligible), 'mfa'] : [keyAmr(credential.backup_eligible)];
  };
}

/** The second step of a password sign-in answered with a security key or passkey. */
export function finishWebauthnSecondStep(deps: SecondStepDeps, step: { mfaToken: string; response: AuthenticationResponseJSON; client: ClientInfo; log?: Logger | undefined }): Promise<IssuedTokens> {
  requireWebauthn(deps.config.webauthn);
  return completeSecondStep(deps, { token: step.mfaToken, purpose: 'login', client: step.client, log: step.log }, webauthnAnswer(deps, step.response, { passkey: false, log: step.log }));
}

/**
 * Starts a passkey sign-in: no account is named, so no credentials are listed (the
 * browser offers the passkeys it holds for this RP); user verification is required. The
 * passkey_token (stored as its hash, 5 minutes, one use) carries the challenge.
 */
export async function startPasskeySignIn(deps: Pick<Services, 'pool' | 'config'>, client: ClientInfo): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; passkeyToken: string }> {
  requireWebauthn(deps.config.webauthn);
  const options = await (await webauthnLibrary()).generateAuthenticationOptions({ rpID: deps.config.webauthn.rpId, timeout: CEREMONY_TIMEOUT_MS, userVerification: 'required' });
  const passkeyToken = randomToken();
  await insertMfaChallenge(deps.pool, {
    userId: undefined,
    purpose: 'passkey',
    tokenHash: hashToken(passkeyToken),
    ttlSeconds: CHALLENGE_TTL_SECONDS,
    ip: client.ip,
    userAgent: client.userAgent,
    webauthnChallenge: options.challenge,
  });
  return { options, passkeyToken };
}

/**
 * A sign-in with a passkey alone: the credential names the account, and the rest is a
 * password login's (the login limits, a login_attempts row, LoginSucceeded and so the
 * anomaly scoring; a locked, disabled or deleted account refused). An unknown credential
 * is 401 invalid_credentials with an attempts row for no account, as an unknown email is.
 */
export async function signInWithPasskey(deps: SecondStepDeps, step: { passkeyToken: string; response: AuthenticationResponseJSON; client: ClientInfo; log?: Logger | undefined }): Promise<IssuedTokens> {
  requireWebauthn(deps.config.webauthn);
  const owner = await findWebauthnCredentialOwner(deps.pool, step.response.id);
  if (!owner) {
    await refuseUnknownPasskey(deps, step);
    throw new AppError('invalid_credentials', { message: 'This passkey is not known here.' });
  }
  return completeSecondStep(
    deps,
    { token: step.passkeyToken, purpose: 'passkey', client: step.client, log: step.log, passkeyOwner: { userId: owner.user_id, email: owner.email } },
    webauthnAnswer(deps, step.response, { passkey: true, log: step.log }),
  );
}

/** An unknown credential: counted by the login limits of the address, a wrong answer of the passkey_token, an attempts row for no account. */
async function refuseUnknownPasskey(deps: SecondStepDeps, step: { passkeyToken: string; client: ClientInfo; log?: Logger | undefined }): Promise<void> {
  const pass = await deps.rateLimits.consume('login', { ip: step.client.ip }, { log: step.log });
  const live = await withTransaction(deps.pool, async (tx) => {
    const challenge = await lockLiveMfaChallenge(tx, hashToken(step.passkeyToken), 'passkey', MFA_TOKEN_MAX_FAILURES);
    if (!challenge) return false;
    await countFailedMfaAnswer(tx, challenge.id);
    await insertLoginAttempt(tx, { userId: undefined, email: null, ip: step.client.ip, userAgent: step.client.userAgent, success: false, reason: 'unknown_passkey' });
    return true;
  });
  if (!live) {
    // A dead token is no attempt: nothing was judged.
    await pass.refund();
    throw new AppError('invalid_token');
  }
}
