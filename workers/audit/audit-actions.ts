import type { EventType } from '../../shared/events/event-types.js';

/**
 * Who an event's action is attributed to when the event names no actor_id:
 * `user` for self-service actions (the account's owner did it), `none` when the
 * actor is unknown or the system acted (a failed login, a lock by anomaly scoring).
 */
export type DefaultActor = 'user' | 'none';

export interface AuditAction {
  action: string;
  actor: DefaultActor;
}

/** The audit action of every event type; the Record type makes a new event type fail to compile until it is mapped. */
export const AUDIT_ACTIONS: Record<EventType, AuditAction> = {
  UserRegistered: { action: 'user.register', actor: 'user' },
  EmailVerificationRequested: { action: 'user.email_verification_requested', actor: 'user' },
  EmailVerified: { action: 'user.email_verified', actor: 'user' },
  LoginSucceeded: { action: 'user.login', actor: 'user' },
  // Whoever typed a wrong password is not known to be the owner.
  LoginFailed: { action: 'user.login_failed', actor: 'none' },
  // Anyone may ask for a reset by email; the request proves nothing about who asked.
  PasswordResetRequested: { action: 'user.password_reset_requested', actor: 'none' },
  PasswordChanged: { action: 'user.password_changed', actor: 'user' },
  SessionRevoked: { action: 'session.revoke', actor: 'user' },
  UserLocked: { action: 'user.locked', actor: 'none' },
  UserUnlocked: { action: 'user.unlocked', actor: 'none' },
  UserStatusChanged: { action: 'user.status_changed', actor: 'none' },
  ProfileUpdated: { action: 'user.update_profile', actor: 'user' },
  MfaEnabled: { action: 'mfa.enable', actor: 'user' },
  MfaDisabled: { action: 'mfa.disable', actor: 'user' },
  RoleGranted: { action: 'role.grant', actor: 'none' },
  RoleRevoked: { action: 'role.revoke', actor: 'none' },
  UserDeleted: { action: 'user.delete', actor: 'user' },
  // Anyone may type an address into the registration form.
  RegistrationAttempted: { action: 'user.registration_attempted', actor: 'none' },
};
