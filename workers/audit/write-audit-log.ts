import type { Pool, Queryable } from '../../shared/db/pool.js';
import { insertAuditLog } from '../../shared/db/queries/audit-logs.js';
import { findLoginAttemptIp } from '../../shared/db/queries/login-attempts.js';
import type { DomainEvent } from '../../shared/events/event-schemas.js';
import { performReaction, type ReactionOutcome } from '../../shared/queues/perform-reaction.js';
import { attemptOf, auditEntry } from './audit-entry.js';

/** The client address, known for the login events: from the attempt they name. */
async function clientIp(db: Queryable, event: DomainEvent): Promise<string | null> {
  const attemptId = attemptOf(event);
  return attemptId ? findLoginAttemptIp(db, attemptId) : null;
}

/**
 * The write-audit-log reaction: one audit_logs row per event, written in the same
 * transaction that marks the reaction completed. A second delivery of the event finds
 * the reaction completed (or the row already there) and adds nothing.
 */
export async function writeAuditLog(pool: Pool, event: DomainEvent): Promise<ReactionOutcome> {
  return performReaction(pool, 'write-audit-log', event, async (tx) => {
    const ip = await clientIp(tx, event);
    await insertAuditLog(tx, auditEntry(event, ip));
  });
}
