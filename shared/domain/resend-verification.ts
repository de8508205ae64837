import { withTransaction, type Pool } from '../db/pool.js';
import { secondsSinceLatestEmailVerificationToken } from '../db/queries/email-verification-tokens.js';
import { insertOutboxEvent, secondsSinceLatestEvent } from '../db/queries/outbox.js';
import { lockUser } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';
import { rateLimitedError } from '../rate-limit/rate-limited-error.js';
import { MAIL_REQUEST_COOLDOWN_SECONDS } from './mail-link-tokens.js';

export type ResendOutcome = 'requested' | 'already-verified';

/**
 * Asks for a new verification mail (EmailVerificationRequested; the email worker then
 * creates a token and expires the older ones). Within the cooldown of the last request,
 * registration or token it is 429 rate_limited with Retry-After and the wait in words. The user row is
 * locked first, so two concurrent requests cannot both pass the cooldown.
 */
export async function resendVerification(pool: Pool, userId: string): Promise<ResendOutcome> {
  return withTransaction(pool, async (tx) => {
    const user = await lockUser(tx, userId);
    if (!user || user.status === 'deleted') throw new AppError('unauthorized');
    if (user.email_verified) return 'already-verified';
    const sinceRequest = await secondsSinceLatestEvent(tx, userId, ['UserRegistered', 'EmailVerificationRequested']);
    const sinceToken = await secondsSinceLatestEmailVerificationToken(tx, userId);
    const elapsed = Math.min(sinceRequest ?? Infinity, sinceToken ?? Infinity);
    if (elapsed < MAIL_REQUEST_COOLDOWN_SECONDS) {
      throw rateLimitedError(MAIL_REQUEST_COOLDOWN_SECONDS - elapsed, 'A verification mail was sent recently');
    }
    await insertOutboxEvent(tx, createEvent('EmailVerificationRequested', userId));
    return 'requested';
  });
}
