import type { Config } from '../../shared/config/config.js';
import type { Pool } from '../../shared/db/pool.js';
import { markOutboxPublished, recordOutboxFailures, type ClaimedOutboxRow, type ClaimScoring, type MarkAuditRow, type MarkScoreRow, type OutboxFailureState } from '../../shared/db/queries/outbox.js';
import { assessPlainLoginAttempts } from '../../shared/domain/anomaly/assess-login-attempt.js';
import { scoredAttemptOf, type ScoredAttempt } from '../../shared/domain/anomaly/login-features.js';
import { attemptOf, auditEntry } from '../audit/audit-entry.js';
import type { Reaction } from '../../shared/db/queries/reactions.js';
import type { DomainEvent } from '../../shared/events/event-schemas.js';
import { AUDITED_AT_MARK, JOB_PAYLOAD_SCHEMAS, REACTION_JOBS, SCORED_AT_MARK, typesReactingWith, type JobName, type JobPayloads } from '../../shared/queues/jobs.js';
import type { PublishOutcome } from './publish-batch.js';

export interface SettledBatch {
  /** Reactions recorded by this batch, to be enqueued after the commit. */
  reactions: Reaction[];
  /** The failed rows' new state; those with failed_at are set aside. */
  failed: OutboxFailureState[];
}

export interface SettleSettings {
  /** Publish failures after which a row is set aside (Config['relay'].maxAttempts). */
  maxAttempts: number;
  /** How sign-ins are scored, for those the mark scores itself. */
  anomaly: Config['anomaly'];
}

/**
 * The events whose reaction `job` the mark may perform, parsed as that job parses its
 * payload. A payload the job's schema refuses is left out: its reaction then goes to its
 * job, which gives it up visibly, rather than failing the whole batch's mark.
 */
function payloadsOf<N extends JobName>(job: N, events: Iterable<DomainEvent>): Array<JobPayloads[N]> {
  const types = new Set<string>(typesReactingWith(job));
  return [...events].flatMap((event) => {
    if (!types.has(event.type)) return [];
    const parsed = JOB_PAYLOAD_SCHEMAS[job].safeParse(event);
    return parsed.success ? [parsed.data as JobPayloads[N]] : [];
  });
}

/** What the relay's claim reads for the mark to score plain sign-ins (claimOutboxBatch). */
export function claimScoring(settings: Config['anomaly']): ClaimScoring {
  return { types: typesReactingWith(SCORED_AT_MARK), velocitySeconds: settings.velocityWindowSeconds, guardSeconds: settings.guardWindowSeconds };
}

/**
 * The plain sign-ins' scores among the confirmed rows, from the features their claim
 * read (assessPlainLoginAttempts); rows claimed without features are left to their jobs.
 */
function plainScores(confirmed: ClaimedOutboxRow[], events: Map<string, DomainEvent>, settings: Config['anomaly']): MarkScoreRow[] {
  const attempts = new Map<string, ScoredAttempt>();
  const read = new Map<string, DomainEvent>();
  for (const row of confirmed) {
    if (row.features === undefined) continue;
    read.set(row.event_id, events.get(row.event_id)!);
    const attempt = row.features && scoredAttemptOf(row.features);
    if (attempt) attempts.set(attempt.id, attempt);
  }
  return assessPlainLoginAttempts(settings, payloadsOf(SCORED_AT_MARK, read.values()), attempts);
}

/** The event's audit row (auditEntry), its client address left to the mark to read from the attempt a login event names. */
function markAuditRow(event: JobPayloads[typeof AUDITED_AT_MARK]): MarkAuditRow {
  const { eventId, userId, actorId, action, metadata, createdAt } = auditEntry(event, null);
  return { eventId, userId, actorId, action, metadata, createdAt, attemptId: attemptOf(event) };
}

/**
 * The relay's second step: marks only the confirmed rows published and records, with
 * them, the reactions each event owes (reactionsFor its type, the event as payload),
 * performing two at once in the same statement: every audit row (AUDITED_AT_MARK), and
 * the score of each plain sign-in (SCORED_AT_MARK, from the features its claim read); then
 * counts the failures, if any, in another. Each commits on its own: they concern
 * different rows. The reactions returned are those still to be enqueued.
 */
export async function settleBatch(pool: Pool, outcome: PublishOutcome, settings: SettleSettings): Promise<SettledBatch> {
  const { confirmed, failures } = outcome;
  if (confirmed.length === 0 && failures.length === 0) return { reactions: [], failed: [] };
  const events = new Map<string, DomainEvent>();
  for (const row of confirmed) events.set(row.event_id, JSON.parse(row.body) as DomainEvent);
  const audit = payloadsOf(AUDITED_AT_MARK, events.values()).map(markAuditRow);
  const scores = plainScores(confirmed, events, settings.anomaly);
  const recorded = await markOutboxPublished(pool, confirmed.map((row) => row.id), REACTION_JOBS, { audit, scores });
  const failed = await recordOutboxFailures(pool, failures, settings.maxAttempts);
  const reactions = recorded.map(({ event_id, job_name }) => ({ event_id, job_name: job_name as JobName, payload: events.get(event_id)! }));
  return { reactions, failed };
}
