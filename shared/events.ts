import crypto from 'node:crypto';

/** Event types, which are also the routing keys on the `user.events` exchange. */
export const EVENT_TYPES = [
  'UserRegistered',
  'EmailVerificationRequested',
  'EmailVerified',
  'LoginSucceeded',
  'LoginFailed',
  'PasswordResetRequested',
  'PasswordChanged',
  'SessionRevoked',
  'UserLocked',
  'UserUnlocked',
  'UserStatusChanged',
  'ProfileUpdated',
  'MfaEnabled',
  'MfaDisabled',
  'RoleGranted',
  'RoleRevoked',
  'UserDeleted',
  // Someone tried to register with this account's address (REGISTER_ENUMERATION_SAFE): its owner is told.
  'RegistrationAttempted',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/**
 * The body every consumer sees. It never carries a password, hash, token, secret or
 * email address: data holds ids and facts only.
 */
export interface DomainEvent {
  event_id: string;
  type: EventType;
  occurred_at: string;
  user_id: string;
  data: Record<string, string | number | boolean | null>;
}

export function createEvent(type: EventType, userId: string, data: DomainEvent['data'] = {}): DomainEvent {
  return { event_id: crypto.randomUUID(), type, occurred_at: new Date().toISOString(), user_id: userId, data };
}
