import { z } from 'zod';
import { EVENT_DATA, EVENT_ENVELOPE, eventReader, type DomainEvent } from '../events/event-schemas.js';
import { EVENT_TYPES, type EventType } from '../events/event-types.js';

/** The BullMQ queues, each consumed by the worker role of the same name. */
export const QUEUE_NAMES = ['email', 'audit', 'anomaly'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/**
 * The new-sign-in notice the anomaly worker owes for a risky LoginSucceeded: the event,
 * its data also carrying the score that made it risky.
 */
const newSignInNotice = z.object({
  ...EVENT_ENVELOPE,
  type: z.literal('LoginSucceeded'),
  data: EVENT_DATA.LoginSucceeded.strip().extend({ risk_score: z.number() }),
});

/**
 * Every job name with the schema of its payload: the one typed map that producers (the
 * relay, the anomaly worker) and consumers (the workers, whose factory parses every
 * payload with it) share. Reaction jobs carry the whole event; its event_id is the
 * idempotency key.
 */
export const JOB_PAYLOAD_SCHEMAS = {
  'send-verification-mail': eventReader(['UserRegistered', 'EmailVerificationRequested']),
  'send-password-reset-mail': eventReader(['PasswordResetRequested']),
  'send-password-changed-mail': eventReader(['PasswordChanged']),
  'send-new-sign-in-mail': newSignInNotice,
  'send-account-guarded-mail': eventReader(['UserLocked']),
  'send-registration-attempt-mail': eventReader(['RegistrationAttempted']),
  'send-second-factor-mail': eventReader(['MfaEnabled', 'MfaDisabled']),
  'write-audit-log': eventReader(EVENT_TYPES),
  'score-login': eventReader(['LoginSucceeded', 'LoginFailed']),
} satisfies Record<string, z.ZodType<{ event_id: string }>>;

export type JobName = keyof typeof JOB_PAYLOAD_SCHEMAS;
export type JobPayloads = { [N in JobName]: z.output<(typeof JOB_PAYLOAD_SCHEMAS)[N]> };

export const JOB_QUEUE: Record<JobName, QueueName> = {
  'send-verification-mail': 'email',
  'send-password-reset-mail': 'email',
  'send-password-changed-mail': 'email',
  'send-new-sign-in-mail': 'email',
  'send-account-guarded-mail': 'email',
  'send-registration-attempt-mail': 'email',
  'send-second-factor-mail': 'email',
  'write-audit-log': 'audit',
  'score-login': 'anomaly',
};

/** The jobs whose payload an event of type T is: the only ones it may ask for. */
type JobsTaking<T extends EventType> = { [N in JobName]: DomainEvent<T> extends JobPayloads[N] ? N : never }[JobName];

/** The reaction jobs an event asks for; every event is audited. */
const EVENT_REACTIONS: { [T in EventType]?: Array<JobsTaking<T>> } = {
  UserRegistered: ['send-verification-mail'],
  EmailVerificationRequested: ['send-verification-mail'],
  PasswordResetRequested: ['send-password-reset-mail'],
  PasswordChanged: ['send-password-changed-mail'],
  LoginSucceeded: ['score-login'],
  LoginFailed: ['score-login'],
  UserLocked: ['send-account-guarded-mail'],
  RegistrationAttempted: ['send-registration-attempt-mail'],
  MfaEnabled: ['send-second-factor-mail'],
  MfaDisabled: ['send-second-factor-mail'],
};

/**
 * The reaction the relay performs itself when it marks an event published: an audit row
 * is a function of the event alone (and of the attempt a login event names), so it is
 * written by the mark's own statement, with its reaction recorded completed
 * (markOutboxPublished), and costs no job. Its job still runs where the mark did not
 * record the reactions: the sweeper's path for events the broker refuses or while it is
 * away, and replays. Either way one row per event (audit_logs.event_id is unique).
 */
export const AUDITED_AT_MARK = 'write-audit-log' satisfies JobName;

/**
 * The other reaction the relay performs at the mark: a sign-in whose assessment only
 * stores its score (no guard to begin or release, no notice owed; nearly every one) has
 * it stored by the mark's statement (assessPlainLoginAttempts), so a plain sign-in costs
 * no BullMQ job. The anomaly worker still runs the jobs of those that act, and of events
 * whose reactions the mark did not record.
 */
export const SCORED_AT_MARK = 'score-login' satisfies JobName;

export function reactionsFor(type: EventType): JobName[] {
  return [...(EVENT_REACTIONS[type] ?? []), 'write-audit-log'];
}

/** The event types whose reactions include `job`. */
export function typesReactingWith(job: JobName): EventType[] {
  return EVENT_TYPES.filter((type) => reactionsFor(type).includes(job));
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
