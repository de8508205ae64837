import { withTransaction, type Pool } from '../db/pool.js';
import { insertOutboxEvent, secondsSinceLatestEvent } from '../db/queries/outbox.js';
import { assignTransactionId } from '../db/queries/transaction-id.js';
import { lockUserByEmail } from '../db/queries/users.js';
import { createEvent } from '../events/create-event.js';
import { normalizeEmail } from './email-address.js';
import { MAIL_REQUEST_COOLDOWN_SECONDS } from './mail-link-tokens.js';

/** Stands in for a user id where there is no account, so every path runs the same queries. */
const NO_USER = '00000000-0000-0000-0000-000000000000';

/**
 * "Forgot password": for an existing active account writes PasswordResetRequested (the
 * email worker creates the token and mails the stored address). The caller answers the
 * same whatever happened, and every path runs the same statements (lock, cooldown
 * read, one write or an id-assigning read, a flushed commit), so the time tells
 * nothing either. A request within the cooldown of the last one mails nothing more.
 */
export async function requestPasswordReset(pool: Pool, rawEmail: string): Promise<void> {
  const email = normalizeEmail(rawEmail);
  await withTransaction(pool, async (tx) => {
    const user = await lockUserByEmail(tx, email);
    const since = await secondsSinceLatestEvent(tx, user?.id ?? NO_USER, ['PasswordResetRequested']);
    const coolingDown = since !== undefined && since < MAIL_REQUEST_COOLDOWN_SECONDS;
    if (user?.status === 'active' && !coolingDown) {
      await insertOutboxEvent(tx, createEvent('PasswordResetRequested', user.id));
    } else {
      await assignTransactionId(tx);
    }
  });
}
