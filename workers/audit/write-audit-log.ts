import net from 'node:net';
import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { Pool, Queryable } from '../../shared/db/pool.js';
import { insertAuditLog } from '../../shared/db/queries/audit-logs.js';
import { findLoginAttemptIp } from '../../shared/db/queries/login-attempts.js';
import { EVENT_TYPES, type DomainEvent } from '../../shared/events.js';
import { performReaction, type ReactionOutcome } from '../../shared/queues/perform-reaction.js';
import { auditEntry } from './audit-entry.js';

const eventSchema = z.object({
  event_id: z.uuid(),
  type: z.enum(EVENT_TYPES),
  occurred_at: z.iso.datetime({ offset: true }),
  user_id: z.uuid(),
  // Any data is accepted here; auditMetadata keeps only listed scalar keys.
  data: z.record(z.string(), z.unknown()),
});

/** A payload that is not a whole event can never be audited: fail the job at once. */
function parseEvent(payload: unknown): DomainEvent {
  const parsed = eventSchema.safeParse(payload);
  if (!parsed.success) throw new UnrecoverableError(`write-audit-log: not an event (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data as DomainEvent;
}

/** The client address: from the login attempt a login event names, else a valid data.ip. */
async function clientIp(db: Queryable, data: Record<string, unknown>): Promise<string | null> {
  const attemptId = data.attempt_id;
  if ((typeof attemptId === 'string' && /^\d{1,18}$/.test(attemptId)) || (typeof attemptId === 'number' && Number.isSafeInteger(attemptId))) {
    const ip = await findLoginAttemptIp(db, String(attemptId));
    if (ip) return ip;
  }
  return typeof data.ip === 'string' && net.isIP(data.ip) !== 0 ? data.ip : null;
}

/**
 * The write-audit-log reaction: one audit_logs row per event, written in the same
 * transaction that marks the reaction completed. A second delivery of the event finds
 * the reaction completed (or the row already there) and adds nothing.
 */
export async function writeAuditLog(pool: Pool, payload: unknown): Promise<ReactionOutcome> {
  const event = parseEvent(payload);
  return performReaction(pool, 'write-audit-log', event, async (tx) => {
    const ip = await clientIp(tx, event.data);
    await insertAuditLog(tx, auditEntry(event, ip));
  });
}
