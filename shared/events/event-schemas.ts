import { z } from 'zod';
import {
  actorId,
  attemptId,
  code,
  count,
  locale,
  LOGIN_FAILURE_REASONS,
  MFA_METHODS,
  SESSION_END_REASONS,
  timestamp,
  USER_STATUSES,
  uuid,
} from './event-fields.js';
import { EVENT_TYPES, type EventType } from './event-types.js';

const mfaChange = z.strictObject({
  method: z.enum(MFA_METHODS),
  method_id: uuid.describe('The mfa_methods row, when the method has one').optional(),
  actor_id: actorId.optional(),
});

const roleChange = z.strictObject({
  role: code.describe('The role name'),
  actor_id: actorId.optional(),
});

const userStatus = z.enum(USER_STATUSES);

/**
 * The data of each event type, exactly: a key not listed here is refused when the event
 * is created. Ids and facts only; an event never carries a password, a hash, a token, a
 * secret or an email address.
 */
export const EVENT_DATA = {
  UserRegistered: z.strictObject({ locale: locale.describe('The language the account registered with (en when none was given)') }),
  EmailVerificationRequested: z.strictObject({}),
  EmailVerified: z.strictObject({}),
  LoginSucceeded: z.strictObject({ session_id: uuid.describe('The session the sign-in opened'), attempt_id: attemptId }),
  LoginFailed: z.strictObject({ reason: z.enum(LOGIN_FAILURE_REASONS), attempt_id: attemptId }),
  PasswordResetRequested: z.strictObject({
    reason: z.enum(['not_me']).describe('not_me: the owner disowned a sign-in; absent when someone asked by email').optional(),
  }),
  PasswordChanged: z.strictObject({
    reason: z.enum(['change', 'reset']).describe('change: by the signed-in owner (that session kept); reset: through a reset link'),
    sessions_revoked: count,
  }),
  SessionRevoked: z.strictObject({ session_id: uuid, reason: z.enum(SESSION_END_REASONS), actor_id: actorId.optional() }),
  UserLocked: z.strictObject({
    reason: z.enum(['failure_burst']).describe('failure_burst: too many failed sign-ins; new networks are refused until `until`'),
    until: timestamp,
  }),
  UserUnlocked: z.strictObject({ reason: z.enum(['guard_expired']), guarded_until: timestamp }),
  UserStatusChanged: z.strictObject({ status: userStatus, previous_status: userStatus, reason: code.optional(), actor_id: actorId.optional() }),
  ProfileUpdated: z.strictObject({
    fields: z
      .string()
      .regex(/^[a-z_]+(,[a-z_]+)*$/)
      .describe('The profile fields set, sorted and comma-separated (display_name,locale); never their values'),
  }),
  MfaEnabled: mfaChange,
  MfaDisabled: mfaChange,
  RoleGranted: roleChange,
  RoleRevoked: roleChange,
  UserDeleted: z.strictObject({ sessions_revoked: count, actor_id: actorId.optional() }),
  RegistrationAttempted: z.strictObject({}),
} satisfies Record<EventType, z.ZodObject>;

export type EventData<T extends EventType> = z.output<(typeof EVENT_DATA)[T]>;

/** The body every consumer sees (DESIGN.md): the same envelope for every type, `data` per type. */
export type DomainEvent<T extends EventType = EventType> = T extends EventType
  ? { event_id: string; type: T; occurred_at: string; user_id: string; data: EventData<T> }
  : never;

export type EventEnvelope<T extends EventType = EventType> = T extends EventType ? Omit<DomainEvent<T>, 'data'> : never;

/** The fields every event has besides `type` and `data`. */
export const EVENT_ENVELOPE = {
  event_id: uuid.describe('The identity of the event everywhere; also the AMQP message_id: dedupe on it'),
  occurred_at: timestamp.describe('When it happened (UTC)'),
  user_id: uuid.describe('The account the event is about'),
};

function strictEventSchema(type: EventType) {
  const { event_id, occurred_at, user_id } = EVENT_ENVELOPE;
  return z.strictObject({ event_id, type: z.literal(type), occurred_at, user_id, data: EVENT_DATA[type] }).describe(`A ${type} event`);
}

/**
 * The one schema of each event type: what createEvent checks and what the AsyncAPI
 * document publishes. (Built in a loop, so the element types are given here.)
 */
export const EVENT_SCHEMAS = Object.fromEntries(EVENT_TYPES.map((type) => [type, strictEventSchema(type)])) as unknown as {
  readonly [T in EventType]: z.ZodType<DomainEvent<T>>;
};

/**
 * The same schemas as a consumer reads them: a key it does not know is dropped rather
 * than refused, so a worker of the previous release still handles an event to which a
 * rolling deploy added an optional field.
 */
const EVENT_READERS = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, z.object({ ...EVENT_ENVELOPE, type: z.literal(type), data: EVENT_DATA[type].strip() })]),
) as unknown as { readonly [T in EventType]: z.ZodObject & z.ZodType<DomainEvent<T>> };

/** A reader of events of the given types, told apart by `type`. */
export function eventReader<const T extends readonly [EventType, ...EventType[]]>(types: T): z.ZodType<DomainEvent<T[number]>> {
  const [first, ...rest] = types.map((type) => EVENT_READERS[type]);
  return z.discriminatedUnion('type', [first!, ...rest]) as unknown as z.ZodType<DomainEvent<T[number]>>;
}

/** The envelope alone, for an event whose data a statement writes (recordSignIn). */
export const ENVELOPE_SCHEMAS = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, z.strictObject({ ...EVENT_ENVELOPE, type: z.literal(type) })]),
) as unknown as { readonly [T in EventType]: z.ZodType<EventEnvelope<T>> };
