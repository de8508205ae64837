import { withTransaction, type Pool } from '../db/pool.js';
import { insertOutboxEvent, secondsSinceLatestEvent } from '../db/queries/outbox.js';
import { lockUserByEmail } from '../db/queries/users.js';
import { createEvent } from '../events/create-event.js';
import { MAIL_REQUEST_COOLDOWN_SECONDS } from './mail-link-tokens.js';

/**
 * A registration with a taken address, under REGISTER_ENUMERATION_SAFE: writes
 * RegistrationAttempted for the account (its reaction mails the owner) unless one was
 * written within the mail cooldown, so repeating the request cannot flood a mailbox.
 * Silent either way: the caller answers as for a new account. The user row is locked,
 * so two concurrent attempts cannot both pass the cooldown.
 */
export async function recordRegistrationAttempt(pool: Pool, email: string): Promise<void> {
  await withTransaction(pool, async (tx) => {
    const user = await lockUserByEmail(tx, email);
    if (!user || user.status !== 'active') return;
    const since = await secondsSinceLatestEvent(tx, user.id, ['RegistrationAttempted']);
    if (since !== undefined && since < MAIL_REQUEST_COOLDOWN_SECONDS) return;
    await insertOutboxEvent(tx, createEvent('RegistrationAttempted', user.id));
  });
}
