import { EVENT_TYPES, type DomainEvent, type EventType } from '../events.js';

/** The BullMQ queues, each consumed by the worker role of the same name. */
export const QUEUE_NAMES = ['outbox', 'email', 'audit', 'anomaly'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/**
 * Every job name with its payload type and its queue: the one typed map that producers
 * (the relay) and consumers (the workers) share. Reaction jobs carry the whole event;
 * its event_id is the idempotency key.
 */
export interface JobPayloads {
  'drain-outbox': { reason: string };
  'send-verification-mail': DomainEvent;
  'send-password-reset-mail': DomainEvent;
  'send-password-changed-mail': DomainEvent;
  'send-new-sign-in-mail': DomainEvent;
  'send-account-guarded-mail': DomainEvent;
  'send-registration-attempt-mail': DomainEvent;
  'write-audit-log': DomainEvent;
  'score-login': DomainEvent;
}

export type JobName = keyof JobPayloads;

export const JOB_QUEUE: Record<JobName, QueueName> = {
  'drain-outbox': 'outbox',
  'send-verification-mail': 'email',
  'send-password-reset-mail': 'email',
  'send-password-changed-mail': 'email',
  'send-new-sign-in-mail': 'email',
  'send-account-guarded-mail': 'email',
  'send-registration-attempt-mail': 'email',
  'write-audit-log': 'audit',
  'score-login': 'anomaly',
};

/** The reaction jobs an event asks for; every event is audited. */
const EVENT_REACTIONS: Partial<Record<EventType, JobName[]>> = {
  UserRegistered: ['send-verification-mail'],
  EmailVerificationRequested: ['send-verification-mail'],
  PasswordResetRequested: ['send-password-reset-mail'],
  PasswordChanged: ['send-password-changed-mail'],
  LoginSucceeded: ['score-login'],
  LoginFailed: ['score-login'],
  UserLocked: ['send-account-guarded-mail'],
  RegistrationAttempted: ['send-registration-attempt-mail'],
};

export function reactionsFor(type: EventType): JobName[] {
  return [...(EVENT_REACTIONS[type] ?? []), 'write-audit-log'];
}

/** reactionsFor() of every event type, as the parallel arrays the relay's statements take. */
export const REACTION_JOBS: { types: EventType[]; jobNames: JobName[] } = {
  types: EVENT_TYPES.flatMap((type) => reactionsFor(type).map(() => type)),
  jobNames: EVENT_TYPES.flatMap((type) => reactionsFor(type)),
};

/**
 * A BullMQ job id for one reaction to one event: deterministic, so adding it twice
 * is a no-op while the first is still known. BullMQ ids may not contain ':'.
 */
export function reactionJobId(eventId: string, job: JobName): string {
  return `${job}-${eventId}`;
}
