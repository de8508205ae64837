import type { Queryable } from '../pool.js';

/**
 * Gives the open transaction an id, so its COMMIT writes and flushes a commit record
 * like a transaction that changed rows: a path that writes nothing then costs about
 * the same as one that does (used where timing must not tell them apart).
 */
export async function assignTransactionId(db: Queryable): Promise<void> {
  await db.query('SELECT txid_current()');
}
