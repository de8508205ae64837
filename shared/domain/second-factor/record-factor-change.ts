import type { Queryable } from '../../db/pool.js';
import { insertOutboxEvent } from '../../db/queries/outbox.js';
import { createEvent } from '../../events/create-event.js';
import type { MFA_METHODS } from '../../events/event-fields.js';

export type FactorMethod = (typeof MFA_METHODS)[number];

export interface FactorChange {
  userId: string;
  method: FactorMethod;
  methodId?: string | undefined;
  /** The administrator who made the change, when it was not the owner. */
  actorId?: string | undefined;
}

/** MfaEnabled or MfaDisabled (the method's type, never a secret): audited and mailed to the owner by the reactions. */
export async function recordFactorChange(db: Queryable, change: FactorChange, enabled: boolean): Promise<void> {
  const data = {
    method: change.method,
    ...(change.methodId ? { method_id: change.methodId } : {}),
    ...(change.actorId ? { actor_id: change.actorId } : {}),
  };
  await insertOutboxEvent(db, createEvent(enabled ? 'MfaEnabled' : 'MfaDisabled', change.userId, data));
}
