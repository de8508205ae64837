import type { NewAuditLog } from '../../shared/db/queries/audit-logs.js';
import type { DomainEvent } from '../../shared/events/event-schemas.js';
import { AUDIT_ACTIONS } from './audit-actions.js';

/**
 * Event data keys an audit row may keep: ids and facts. Anything else (a future key
 * that might hold an address, a token or free text) is left out until it is listed here.
 */
const METADATA_KEYS = new Set([
  'attempt_id',
  'session_id',
  'reason',
  'locale',
  'until',
  'guarded_until',
  'status',
  'previous_status',
  'role',
  'role_id',
  'method',
  'method_id',
  'mfa_type',
  'sessions_revoked',
  'score',
  'risk_score',
  'source',
  'via',
  'actor_id',
  'expires_at',
]);

const EMAIL_LIKE = /[^\s@]+@[^\s@]+/;
const MAX_VALUE_LENGTH = 200;

type Scalar = string | number | boolean | null;

function isKeptValue(value: unknown): value is Scalar {
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  // Belt and braces: even a listed key never carries something shaped like an address.
  return typeof value === 'string' && value.length <= MAX_VALUE_LENGTH && !EMAIL_LIKE.test(value);
}

/** The event's data reduced to listed keys with scalar values, never an email address. */
export function auditMetadata(data: Record<string, unknown>): Record<string, Scalar> {
  const kept: Record<string, Scalar> = {};
  for (const [key, value] of Object.entries(data)) {
    if (METADATA_KEYS.has(key) && isKeptValue(value)) kept[key] = value;
  }
  return kept;
}

/**
 * The audit row of one event: its action, the actor (an explicit data.actor_id, else
 * the user for self-service actions, else null for the system), the client IP when
 * known, and the event's time as created_at.
 */
/** The login attempt a login event names (its client address is the audit row's), or null. */
export function attemptOf(event: DomainEvent): string | null {
  return event.type === 'LoginSucceeded' || event.type === 'LoginFailed' ? event.data.attempt_id : null;
}

export function auditEntry(event: DomainEvent, ip: string | null): NewAuditLog {
  const { action, actor } = AUDIT_ACTIONS[event.type];
  const explicitActor = 'actor_id' in event.data ? event.data.actor_id : undefined;
  return {
    eventId: event.event_id,
    userId: event.user_id,
    actorId: explicitActor ?? (actor === 'user' ? event.user_id : null),
    action,
    ip,
    metadata: auditMetadata(event.data),
    createdAt: event.occurred_at,
  };
}
