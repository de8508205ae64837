import { withTransaction, type Pool } from '../../db/pool.js';
import { insertLoginAttempt } from '../../db/queries/login-attempts.js';
import { insertOutboxEvent } from '../../db/queries/outbox.js';
import type { SignInState } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { createEvent } from '../../events/create-event.js';
import type { LOGIN_FAILURE_REASONS } from '../../events/event-fields.js';

/** Who is signing in from where, as login_attempts records it. */
export interface Attempt {
  email: string;
  ip: string | undefined;
  userAgent: string | undefined;
}

export type LoginFailureReason = (typeof LOGIN_FAILURE_REASONS)[number];

export const BLOCKING_STATUS = { locked: 'account_locked', disabled: 'account_disabled' } as const;
type BlockingCode = (typeof BLOCKING_STATUS)[keyof typeof BLOCKING_STATUS];

/** A sign-in whose password verified but whose account changed during the check. */
export interface Refused {
  code: 'invalid_credentials' | 'password_reset_required' | BlockingCode;
  /** The login_attempts reason; `unknown_email` (a deletion) is recorded as for an address nobody holds. */
  reason: 'unknown_email' | 'password_changed' | 'password_reset_required' | BlockingCode;
}

/**
 * The one rule for opening a session after the password check, judged under the user's
 * lock, for whatever committed during the check: a deletion makes the address unknown;
 * a lock or disabling answers as it would have before the check; a password reset or
 * change means the password just verified is no longer the account's (the answer to a
 * wrong one); a "this wasn't me" requires a reset.
 */
export function refusalOf(state: SignInState | undefined): Refused | undefined {
  if (!state || state.status === 'deleted') return { code: 'invalid_credentials', reason: 'unknown_email' };
  if (state.status !== 'active') return { code: BLOCKING_STATUS[state.status], reason: BLOCKING_STATUS[state.status] };
  if (!state.password_unchanged) return { code: 'invalid_credentials', reason: 'password_changed' };
  if (state.password_reset_required) return { code: 'password_reset_required', reason: 'password_reset_required' };
  return undefined;
}

/** A failed sign-in of an existing account: its login_attempts row and LoginFailed, together. */
export async function recordLoginFailure(pool: Pool, userId: string, attempt: Attempt, reason: LoginFailureReason): Promise<void> {
  await withTransaction(pool, async (tx) => {
    const attemptId = await insertLoginAttempt(tx, { ...attempt, userId, success: false, reason });
    await insertOutboxEvent(tx, createEvent('LoginFailed', userId, { reason, attempt_id: attemptId }));
  });
}

/** Records a refusal found under the user's lock and throws its answer. */
export async function refuse(pool: Pool, userId: string, attempt: Attempt, refused: Refused): Promise<never> {
  if (refused.reason === 'unknown_email') await insertLoginAttempt(pool, { ...attempt, userId: undefined, success: false, reason: refused.reason });
  else await recordLoginFailure(pool, userId, attempt, refused.reason);
  throw new AppError(refused.code);
}
