import { hashToken } from '../crypto/random-token.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { consumeLinkToken, findLiveLinkToken } from '../db/queries/link-tokens.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { lockUser, markEmailVerified } from '../db/queries/users.js';
import { createEvent } from '../events/create-event.js';
import { invalidLinkToken } from './mail-link-tokens.js';

/**
 * Consumes a verification token and marks the address verified, with EmailVerified in
 * the same transaction. An unknown, used or expired token is 400 invalid_token.
 */
export async function verifyEmail(pool: Pool, token: string): Promise<{ userId: string }> {
  const found = await findLiveLinkToken(pool, 'email_verification_tokens', hashToken(token));
  if (!found) throw invalidLinkToken();
  return withTransaction(pool, async (tx) => {
    const user = await lockUser(tx, found.user_id);
    if (!user || user.status === 'deleted') throw invalidLinkToken();
    // Conditional on still being live: of two concurrent uses, one wins.
    if (!(await consumeLinkToken(tx, 'email_verification_tokens', found.id))) throw invalidLinkToken();
    if (await markEmailVerified(tx, user.id)) await insertOutboxEvent(tx, createEvent('EmailVerified', user.id));
    return { userId: user.id };
  });
}
