import { z } from 'zod';

/**
 * The field types event data is built from. Every string is an id, a time, or a value
 * from a closed set or a snake_case code: never free text, which could carry an
 * address, a token or a secret.
 */

export const uuid = z.uuid();

/** UTC, as Date.prototype.toISOString writes it. */
export const timestamp = z.iso.datetime();

export const count = z.int().min(0);

/** A snake_case code (a reason, a role name): a fact from a closed vocabulary, not a sentence. */
export const code = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/);

/** A BCP 47 language tag, as the API accepts it (Intl.getCanonicalLocales): letters, digits and hyphens. */
export const locale = z.string().max(35).regex(/^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$/);

/** A login_attempts id: a bigint, as a decimal string (a JSON number loses precision past 2^53). */
export const attemptId = z.string().regex(/^\d{1,19}$/).describe('The login attempt (a bigint, as a decimal string)');

/** The user who acted when it was not the account's owner (an administrator). */
export const actorId = uuid.describe('Who acted, when not the account owner (an administrator)');

export const USER_STATUSES = ['active', 'locked', 'disabled', 'deleted'] as const;

/** Why a session ended: SessionRevoked's data.reason. */
export const SESSION_END_REASONS = [
  'user',
  'logout',
  'logout_all',
  'password_change',
  'password_reset',
  'account_deleted',
  'not_me',
  'refresh_token_reuse',
  'admin',
  'session_limit',
  // A correct sign-in at the dashboard's sign-in page by an account without the admin role:
  // its session is ended at once, since no one was handed its tokens.
  'not_admin',
] as const;

/** Why a sign-in with an existing account's email failed: LoginFailed's data.reason. */
export const LOGIN_FAILURE_REASONS = [
  'invalid_password',
  'account_locked',
  'account_disabled',
  'account_guarded',
  'password_reset_required',
  // The password verified, but a change or reset committed while it was being checked.
  'password_changed',
  // The password verified, but the second step's code (TOTP or recovery code) was wrong or used.
  'invalid_code',
  // A WebAuthn assertion whose signature counter did not move forward: a cloned
  // authenticator, or a replayed answer. Refused, and audited through LoginFailed.
  'webauthn_counter_regressed',
  // A passkey sign-in whose assertion did not verify (signature, origin, RP id, challenge).
  'invalid_passkey',
] as const;

export const MFA_METHODS = ['totp', 'webauthn', 'recovery_codes'] as const;
