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
