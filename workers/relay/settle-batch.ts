import { withTransaction, type Pool } from '../../shared/db/pool.js';
import { markOutboxPublished, recordOutboxFailures, type ClaimedOutboxRow, type OutboxFailureState } from '../../shared/db/queries/outbox.js';
import type { Reaction } from '../../shared/db/queries/reactions.js';
import type { DomainEvent, EventType } from '../../shared/events.js';
import { reactionsFor, type JobName } from '../../shared/queues/jobs.js';
import type { PublishOutcome } from './publish-batch.js';

export interface SettledBatch {
  /** Reactions recorded by this batch, to be enqueued after the commit. */
  reactions: Reaction[];
  /** The failed rows' new state; those with failed_at are set aside. */
  failed: OutboxFailureState[];
}

/** reactionsFor() of every type in the batch, as (type, job) pairs. */
function jobsByType(rows: ClaimedOutboxRow[]): Array<{ type: string; job_name: JobName }> {
  const types = new Set(rows.map((row) => row.type));
  return [...types].flatMap((type) => reactionsFor(type as EventType).map((job_name) => ({ type, job_name })));
}

/**
 * The relay's second short transaction: marks only the confirmed rows published and
 * records, with them, the reactions each event owes (reactionsFor its type, the event as
 * payload); counts the failures.
 */
export async function settleBatch(pool: Pool, outcome: PublishOutcome, maxAttempts: number): Promise<SettledBatch> {
  const { confirmed, failures } = outcome;
  if (confirmed.length === 0 && failures.length === 0) return { reactions: [], failed: [] };
  const { recorded, failed } = await withTransaction(pool, async (tx) => {
    // No need to wait for the WAL flush: should a crash lose this commit, the rows are
    // simply published again (consumers dedupe) and their reactions recorded then.
    await tx.query('SET LOCAL synchronous_commit = off');
    return {
      recorded: await markOutboxPublished(tx, confirmed.map((row) => row.id), jobsByType(confirmed)),
      failed: await recordOutboxFailures(tx, failures, maxAttempts),
    };
  });
  const events = new Map<string, DomainEvent>();
  for (const row of confirmed) events.set(row.event_id, JSON.parse(row.body) as DomainEvent);
  const reactions = recorded.map(({ event_id, job_name }) => ({ event_id, job_name: job_name as JobName, payload: events.get(event_id)! }));
  return { reactions, failed };
}
