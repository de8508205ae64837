import { EVENTS_EXCHANGE } from '../../broker/broker-topology.js';
import type { DomainEvent } from '../../events/event-schemas.js';
import type { EventType } from '../../events/event-types.js';
import type pg from 'pg';
import type { Queryable } from '../pool.js';
import type { NewAuditLog } from './audit-logs.js';
import type { Reaction } from './reactions.js';
import { loginAttemptFeaturesSql, type LoginAttemptFeatureRow } from './login-attempts.js';
import { AUDITED_AT_MARK, SCORED_AT_MARK } from '../../queues/jobs.js';

/** Writes an event in the caller's transaction, beside the change it describes; the relay publishes it to EVENTS_EXCHANGE. */
export async function insertOutboxEvent(db: Queryable, event: DomainEvent): Promise<void> {
  await db.query(
    `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [event.event_id, event.user_id, EVENTS_EXCHANGE, event.type, JSON.stringify(event), event.occurred_at],
  );
}

/** Deletes up to `limit` rows published more than `days` ago (never an unpublished one); returns how many. */
export async function deletePublishedOutboxOlderThan(db: Queryable, days: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM outbox WHERE id IN (
       SELECT id FROM outbox WHERE published_at < now() - make_interval(days => $1) AND reactions_at IS NOT NULL
        LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return rowCount ?? 0;
}

/** A row the relay claimed: `body` is the stored event JSON, published as it is. */
export interface ClaimedOutboxRow {
  id: string;
  event_id: string;
  topic: string;
  type: string;
  body: string;
  created_at: Date;
  /**
   * Read by a claim given `scoring` (claimOutboxBatch): for a login event, what
   * login_attempts says about the attempt it names, null when the attempt is gone; null
   * for every other event. Absent from a claim without `scoring`.
   */
  features?: LoginAttemptFeatureRow | null;
}

/** A failed publish: `counts` when the failure belongs to the row (a nack, a missing exchange) rather than to the broker being away. */
export interface OutboxFailure {
  id: string;
  error: string;
  counts: boolean;
}

export interface OutboxFailureState {
  id: string;
  event_id: string;
  type: string;
  attempts: number;
  last_error: string | null;
  failed_at: Date | null;
}

/** The relay's claim also runs on its leader-lock connection, a plain pg.Client. */
type RelayDb = Queryable | pg.Client;

/** What the claim reads beside the rows: the features of the attempts the scored event types name (SCORED_AT_MARK). */
export interface ClaimScoring {
  /** The event types whose data.attempt_id names a login attempt to score. */
  types: string[];
  velocitySeconds: number;
  guardSeconds: number;
}

/**
 * Claims up to `limit` unpublished, not set-aside, unleased rows in id order and leases
 * them for `leaseSeconds`: one statement, so one short transaction. SKIP LOCKED keeps it
 * from waiting on a row another transaction holds. Given `scoring`, the same statement
 * reads the features of the attempt each login event names (loginAttemptFeaturesSql),
 * which depend only on the attempts before it, so the mark can store a plain sign-in's
 * score without a statement of its own.
 */
export async function claimOutboxBatch(db: RelayDb, limit: number, leaseSeconds: number, scoring?: ClaimScoring): Promise<ClaimedOutboxRow[]> {
  const claim = `WITH claimed AS (
       UPDATE outbox o SET locked_until = now() + make_interval(secs => $2)
         FROM (SELECT id FROM outbox
                WHERE published_at IS NULL AND failed_at IS NULL
                  AND (locked_until IS NULL OR locked_until < now())
                ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) c
        WHERE o.id = c.id
        RETURNING o.id, o.event_id, o.topic, o.type, o.payload, o.created_at)`;
  if (!scoring) {
    const { rows } = await db.query<ClaimedOutboxRow>({
      name: 'claim-outbox-batch',
      text: `${claim} SELECT id, event_id, topic, type, payload::text AS body, created_at FROM claimed ORDER BY id`,
      values: [limit, leaseSeconds],
    });
    return rows;
  }
  const { rows } = await db.query<ClaimedOutboxRow>({
    name: 'claim-outbox-batch-scoring',
    // The attempt id is read from the stored event only where it is one: a malformed
    // payload (its job refuses it) must not fail the whole claim. CASE keeps the cast after the test.
    text: `${claim},
     named AS (
       SELECT c.id AS outbox_id,
              CASE WHEN c.payload #>> '{data,attempt_id}' ~ '^[0-9]{1,18}$' THEN (c.payload #>> '{data,attempt_id}')::bigint END AS attempt_id
         FROM claimed c WHERE c.type = ANY($3::text[])),
     a AS (SELECT la.* FROM login_attempts la WHERE la.id IN (SELECT attempt_id FROM named)),
     features AS (${loginAttemptFeaturesSql('$4', '$5')})
     SELECT c.id, c.event_id, c.topic, c.type, c.payload::text AS body, c.created_at,
            CASE WHEN n.outbox_id IS NOT NULL THEN to_jsonb(f) END AS features
       FROM claimed c
       LEFT JOIN named n ON n.outbox_id = c.id
       LEFT JOIN features f ON f.id = n.attempt_id::text
      ORDER BY c.id`,
    values: [limit, leaseSeconds, scoring.types, scoring.velocitySeconds, scoring.guardSeconds],
  });
  return rows;
}

/** Event type -> the job names its reactions run, as the two parallel arrays the mark and recordOutboxReactions take (REACTION_JOBS). */
export interface ReactionJobs {
  types: string[];
  jobNames: string[];
}

/**
 * The audit row of a published event, written by the mark itself (AUDITED_AT_MARK):
 * `attemptId` names the login attempt whose client address the row keeps.
 */
export interface MarkAuditRow extends Omit<NewAuditLog, 'ip'> {
  attemptId: string | null;
}

/**
 * The risk score of a login event's attempt, stored by the mark itself (SCORED_AT_MARK)
 * when storing it is all the assessment does; score null: the attempt is gone or names
 * no account, so there is nothing to store and the reaction is simply done.
 */
export interface MarkScoreRow {
  eventId: string;
  attemptId: string;
  score: number | null;
  reasons: unknown[];
}

/** The reactions the mark performs itself, each for the events listed. */
export interface PerformedAtMark {
  audit: MarkAuditRow[];
  scores: MarkScoreRow[];
}

/**
 * Marks confirmed rows published and, in the same statement, records the reactions each
 * newly published event owes (`jobs`: event type -> job names), each carrying the
 * stored event as its payload, unless recordOutboxReactions recorded them already (while
 * the broker refused or lacked the event). A row already marked stays as it was and adds
 * nothing. Two reactions are performed here too, for the events `performed` lists: the
 * audit row (the client address from the attempt it names) is inserted, and a plain
 * sign-in's risk score stored; each such reaction is recorded as completed in the same
 * statement, so it needs no job. An event whose reactions were recorded earlier keeps
 * its queued ones. Returns the reactions recorded and still to be done.
 *
 * Run on its own (not in a caller's transaction), it commits without waiting for the WAL
 * flush (set_config(..., true) is local to the statement's own transaction): should a
 * crash lose the commit, the rows are simply published again (consumers dedupe by
 * message_id) and their reactions, audit rows and scores recorded then. One round trip,
 * no BEGIN, SET, COMMIT.
 */
export async function markOutboxPublished(
  db: Queryable,
  ids: string[],
  jobs: ReactionJobs,
  performed: PerformedAtMark = { audit: [], scores: [] },
): Promise<Array<{ event_id: string; job_name: string }>> {
  if (ids.length === 0) return [];
  const { audit, scores } = performed;
  const { rows } = await db.query<{ event_id: string; job_name: string }>({
    name: 'mark-outbox-published',
    text: `WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true)),
     published AS (
       UPDATE outbox SET published_at = now(), locked_until = NULL, reactions_at = coalesce(reactions_at, now())
        WHERE id = ANY($1::bigint[]) AND published_at IS NULL AND EXISTS (SELECT FROM no_flush_wait)
        RETURNING event_id, type, payload),
     audit AS (
       SELECT * FROM unnest($5::uuid[], $6::uuid[], $7::uuid[], $8::text[], $9::jsonb[], $10::timestamptz[], $11::bigint[])
         AS a(event_id, user_id, actor_id, action, metadata, created_at, attempt_id)),
     scores AS (
       SELECT * FROM unnest($12::uuid[], $13::bigint[], $14::int[], $15::jsonb[]) AS s(event_id, attempt_id, score, reasons)),
     recorded AS (
       INSERT INTO reactions (event_id, job_name, payload, completed_at)
       SELECT p.event_id, j.job_name, p.payload,
              CASE WHEN j.job_name = $4 AND EXISTS (SELECT FROM audit a WHERE a.event_id = p.event_id) THEN now()
                   WHEN j.job_name = $16 AND EXISTS (SELECT FROM scores s WHERE s.event_id = p.event_id) THEN now() END
         FROM published p JOIN unnest($2::text[], $3::text[]) AS j(type, job_name) ON j.type = p.type
       ON CONFLICT DO NOTHING
       RETURNING event_id, job_name, completed_at IS NOT NULL AS done),
     audited AS (
       INSERT INTO audit_logs (event_id, user_id, actor_id, action, ip_addr, metadata, created_at)
       SELECT a.event_id, a.user_id, a.actor_id, a.action, host(la.ip_addr)::inet, a.metadata, a.created_at
         FROM recorded r JOIN audit a ON a.event_id = r.event_id AND r.job_name = $4 AND r.done
         LEFT JOIN login_attempts la ON la.id = a.attempt_id
       ON CONFLICT (event_id) DO NOTHING),
     scored AS (
       UPDATE login_attempts la SET risk_score = s.score, risk_reasons = s.reasons, scored_at = now()
         FROM recorded r JOIN scores s ON s.event_id = r.event_id AND r.job_name = $16 AND r.done
        WHERE la.id = s.attempt_id AND s.score IS NOT NULL)
     SELECT event_id, job_name FROM recorded WHERE NOT done`,
    values: [
      ids,
      jobs.types,
      jobs.jobNames,
      AUDITED_AT_MARK,
      audit.map((row) => row.eventId),
      audit.map((row) => row.userId),
      audit.map((row) => row.actorId),
      audit.map((row) => row.action),
      audit.map((row) => JSON.stringify(row.metadata)),
      audit.map((row) => row.createdAt),
      audit.map((row) => row.attemptId),
      scores.map((row) => row.eventId),
      scores.map((row) => row.attemptId),
      scores.map((row) => row.score),
      scores.map((row) => JSON.stringify(row.reasons)),
      SCORED_AT_MARK,
    ],
  });
  return rows;
}

/**
 * Records the reactions of up to `limit` events written more than `olderThanSeconds`
 * ago whose reactions are still not recorded (reactions_at), in id order, without
 * publishing them: usually the mark records them within milliseconds, but an event the
 * broker keeps refusing, or any event while the broker is away, must not hold back its
 * mail and audit row (DESIGN.md: reactions are tracked apart from the broker). Returns
 * the reactions recorded.
 */
export async function recordOutboxReactions(db: Queryable, olderThanSeconds: number, limit: number, jobs: ReactionJobs): Promise<Reaction[]> {
  const { rows } = await db.query<Reaction>({
    name: 'record-outbox-reactions',
    text: `WITH noted AS (
       UPDATE outbox o SET reactions_at = now()
         FROM (SELECT id FROM outbox
                WHERE reactions_at IS NULL AND created_at < now() - make_interval(secs => $1)
                ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) c
        WHERE o.id = c.id
        RETURNING o.event_id, o.type, o.payload)
     INSERT INTO reactions (event_id, job_name, payload)
     SELECT n.event_id, j.job_name, n.payload
       FROM noted n JOIN unnest($3::text[], $4::text[]) AS j(type, job_name) ON j.type = n.type
     ON CONFLICT DO NOTHING
     RETURNING event_id, job_name, payload`,
    values: [olderThanSeconds, limit, jobs.types, jobs.jobNames],
  });
  return rows;
}

/**
 * Records failed publishes. A counted failure adds an attempt and backs the row off
 * (2^attempts seconds, at most a minute); at `maxAttempts` the row is set aside
 * (failed_at) until replayed. An uncounted one only frees the row for the next claim.
 * Returns the rows' new state.
 */
export async function recordOutboxFailures(db: Queryable, failures: OutboxFailure[], maxAttempts: number): Promise<OutboxFailureState[]> {
  if (failures.length === 0) return [];
  const { rows } = await db.query<OutboxFailureState>(
    `UPDATE outbox o
        SET attempts = o.attempts + f.counts::int,
            last_error = f.error,
            failed_at = CASE WHEN o.attempts + f.counts::int >= $4 THEN now() END,
            locked_until = CASE WHEN f.counts THEN now() + make_interval(secs => least(60, 2 ^ o.attempts)) END
       FROM unnest($1::bigint[], $2::text[], $3::boolean[]) AS f(id, error, counts)
      WHERE o.id = f.id AND o.published_at IS NULL
      RETURNING o.id, o.event_id, o.type, o.attempts, o.last_error, o.failed_at`,
    [failures.map((f) => f.id), failures.map((f) => f.error), failures.map((f) => f.counts), maxAttempts],
  );
  return rows;
}

/** Frees leased rows that were claimed but not published (a stop between claim and publish). */
export async function releaseOutboxRows(db: Queryable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query('UPDATE outbox SET locked_until = NULL WHERE id = ANY($1::bigint[]) AND published_at IS NULL', [ids]);
}

/**
 * Frees every lease: a new leader runs it, since only an earlier leader can hold one and
 * its rows would otherwise wait for the lease to lapse. Returns how many were freed.
 */
export async function releaseAllOutboxLeases(db: RelayDb): Promise<number> {
  const { rowCount } = await db.query(
    'UPDATE outbox SET locked_until = NULL WHERE published_at IS NULL AND failed_at IS NULL AND locked_until IS NOT NULL',
  );
  return rowCount ?? 0;
}

export interface OutboxEventState {
  id: string;
  event_id: string;
  type: string;
  created_at: Date;
  published_at: Date | null;
  failed_at: Date | null;
  attempts: number;
  last_error: string | null;
}

const STATE_COLUMNS = 'id, event_id, type, created_at, published_at, failed_at, attempts, last_error';

export async function findOutboxEventByEventId(db: Queryable, eventId: string): Promise<OutboxEventState | undefined> {
  const { rows } = await db.query<OutboxEventState>(`SELECT ${STATE_COLUMNS} FROM outbox WHERE event_id = $1 FOR UPDATE`, [eventId]);
  return rows[0];
}

/** Set-aside rows, oldest first, for operators. */
export async function findSetAsideOutboxEvents(db: Queryable, limit: number): Promise<OutboxEventState[]> {
  const { rows } = await db.query<OutboxEventState>(
    `SELECT ${STATE_COLUMNS} FROM outbox WHERE failed_at IS NOT NULL AND published_at IS NULL ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows;
}

/** Puts an unpublished row back in line (attempts and set-aside cleared) and wakes the relay. */
export async function resetOutboxEventForReplay(db: Queryable, eventId: string): Promise<void> {
  await db.query(
    `UPDATE outbox SET failed_at = NULL, attempts = 0, locked_until = NULL
      WHERE event_id = $1 AND published_at IS NULL`,
    [eventId],
  );
  await db.query(`SELECT pg_notify('outbox', '')`);
}

/** Seconds since the user's newest event of these types was written (undefined: none). */
export async function secondsSinceLatestEvent(db: Queryable, userId: string, types: readonly EventType[]): Promise<number | undefined> {
  const { rows } = await db.query<{ seconds: number | null }>(
    `SELECT extract(epoch FROM now() - max(created_at))::float8 AS seconds
       FROM outbox WHERE aggregate_id = $1 AND type = ANY($2::text[])`,
    [userId, types],
  );
  return rows[0]?.seconds ?? undefined;
}
