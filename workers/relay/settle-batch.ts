import type { Pool } from '../../shared/db/pool.js';
import { markOutboxPublished, recordOutboxFailures, type MarkAuditRow, type OutboxFailureState } from '../../shared/db/queries/outbox.js';
import { attemptOf, auditEntry } from '../audit/audit-entry.js';
import type { Reaction } from '../../shared/db/queries/reactions.js';
import type { DomainEvent } from '../../shared/events/event-schemas.js';
import { AUDITED_AT_MARK, JOB_PAYLOAD_SCHEMAS, REACTION_JOBS, type JobName } from '../../shared/queues/jobs.js';
import type { PublishOutcome } from './publish-batch.js';

export interface SettledBatch {
  /** Reactions recorded by this batch, to be enqueued after the commit. */
  reactions: Reaction[];
  /** The failed rows' new state; those with failed_at are set aside. */
  failed: OutboxFailureState[];
}

/**
 * The event's audit row (auditEntry) from the stored event read as the audit job reads it,
 * its client address left to the mark to read from the attempt a login event names.
 * Undefined for a payload the job's schema refuses: its reaction then goes to its job,
 * which gives it up visibly, rather than failing the whole batch's mark.
 */
function markAuditRow(stored: unknown): MarkAuditRow | undefined {
  const parsed = JOB_PAYLOAD_SCHEMAS[AUDITED_AT_MARK].safeParse(stored);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  const { eventId, userId, actorId, action, metadata, createdAt } = auditEntry(event, null);
  return { eventId, userId, actorId, action, metadata, createdAt, attemptId: attemptOf(event) };
}

/**
 * The relay's second step: marks only the confirmed rows published and records, with
 * them, the reactions each event owes (reactionsFor its type, the event as payload),
 * writing their audit rows at once (AUDITED_AT_MARK), in one statement; then counts the
 * failures, if any, in another. Each commits on its own: they concern different rows.
 * The reactions returned are those still to be enqueued.
 */
export async function settleBatch(pool: Pool, outcome: PublishOutcome, maxAttempts: number): Promise<SettledBatch> {
  const { confirmed, failures } = outcome;
  if (confirmed.length === 0 && failures.length === 0) return { reactions: [], failed: [] };
  const events = new Map<string, DomainEvent>();
  for (const row of confirmed) events.set(row.event_id, JSON.parse(row.body) as DomainEvent);
  const audit = [...events.values()].flatMap((event) => markAuditRow(event) ?? []);
  const recorded = await markOutboxPublished(pool, confirmed.map((row) => row.id), REACTION_JOBS, audit);
  const failed = await recordOutboxFailures(pool, failures, maxAttempts);
  const reactions = recorded.map(({ event_id, job_name }) => ({ event_id, job_name: job_name as JobName, payload: events.get(event_id)! }));
  return { reactions, failed };
}
