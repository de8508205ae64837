import crypto from 'node:crypto';
import type { z } from 'zod';
import { describeIssues } from './describe-issues.js';
import { ENVELOPE_SCHEMAS, EVENT_SCHEMAS, type DomainEvent, type EventData, type EventEnvelope } from './event-schemas.js';
import type { EventType } from './event-types.js';

/** An event that does not match its type's schema: a bug in its producer, never the client's fault. */
export class InvalidEventError extends Error {
  constructor(
    readonly eventType: string,
    readonly issues: readonly z.core.$ZodIssue[],
  ) {
    super(`invalid ${eventType} event: ${describeIssues(issues)}`);
    this.name = 'InvalidEventError';
  }
}

/** The data argument: optional for the types whose data has no required key. */
type DataArgument<T extends EventType> = Record<string, never> extends EventData<T> ? [data?: EventData<T>] : [data: EventData<T>];

/**
 * A new event of `type` about the user, checked against its schema (EVENT_SCHEMAS):
 * data the schema does not allow, a key it does not list included, throws
 * InvalidEventError naming the type and the field. The event is returned as built, so
 * what is stored and published is exactly what the producer wrote.
 */
export function createEvent<T extends EventType>(type: T, userId: string, ...[data]: DataArgument<T>): DomainEvent<T> {
  const event = { event_id: crypto.randomUUID(), type, occurred_at: new Date().toISOString(), user_id: userId, data: data ?? {} };
  const checked = EVENT_SCHEMAS[type].safeParse(event);
  if (!checked.success) throw new InvalidEventError(type, checked.error.issues);
  return event as DomainEvent<T>;
}

/**
 * The envelope of a new event whose data a SQL statement fills in (recordSignIn writes
 * LoginSucceeded's session_id and attempt_id, known only once its rows exist); the
 * envelope is checked here, the whole event by the tests that read it back.
 */
export function createEventEnvelope<T extends EventType>(type: T, userId: string): EventEnvelope<T> {
  const envelope = { event_id: crypto.randomUUID(), type, occurred_at: new Date().toISOString(), user_id: userId };
  const checked = ENVELOPE_SCHEMAS[type].safeParse(envelope);
  if (!checked.success) throw new InvalidEventError(type, checked.error.issues);
  return envelope as unknown as EventEnvelope<T>;
}
