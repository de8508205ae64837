import type { Pool } from '../../shared/db/pool.js';
import { markOutboxPublished, recordOutboxFailures, type OutboxFailureState } from '../../shared/db/queries/outbox.js';
import type { PublishOutcome } from './publish-batch.js';

/**
 * The relay's second step: marks only the confirmed rows published in one statement,
 * then counts the failures, if any, in another; returns the failed rows' new state
 * (those with failed_at are set aside). Each commits on its own: they concern different
 * rows. (The events' reactions were recorded when the rows were claimed.)
 */
export async function settleBatch(pool: Pool, outcome: PublishOutcome, maxAttempts: number): Promise<OutboxFailureState[]> {
  const { confirmed, failures } = outcome;
  await markOutboxPublished(pool, confirmed.map((row) => row.id));
  return recordOutboxFailures(pool, failures, maxAttempts);
}
