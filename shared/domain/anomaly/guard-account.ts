import type { Config } from '../../config/config.js';
import type { Queryable } from '../../db/pool.js';
import { isAccountGuarded, releaseLapsedAccountGuard, upsertAccountGuard } from '../../db/queries/account-guards.js';
import { hasSignedInFromIpPrefix } from '../../db/queries/login-attempts.js';
import { insertOutboxEvent } from '../../db/queries/outbox.js';
import { createEvent } from '../../events/create-event.js';

export const FAILURE_BURST = 'failure_burst';

/** Whether a failed attempt completes a burst: guardFailures failures within the guard window. */
export function isFailureBurst(settings: Config['anomaly'], attempt: { guardWindowFailures: number }): boolean {
  return attempt.guardWindowFailures >= settings.guardFailures;
}

/**
 * After a failed attempt: when the account saw guardFailures failures within the guard
 * window, guard it until guardSeconds after this attempt (or extend the running guard
 * to then). A new guard emits UserLocked, whose reaction mails the owner. Returns
 * whether a new guard began.
 */
export async function guardAccountOnFailureBurst(
  tx: Queryable,
  settings: Config['anomaly'],
  attempt: { userId: string; createdAt: Date; guardWindowFailures: number },
): Promise<boolean> {
  if (!isFailureBurst(settings, attempt)) return false;
  const until = new Date(attempt.createdAt.getTime() + settings.guardSeconds * 1_000);
  const guard = await upsertAccountGuard(tx, attempt.userId, FAILURE_BURST, until);
  if (!guard?.started) return false;
  await insertOutboxEvent(
    tx,
    createEvent('UserLocked', attempt.userId, { reason: FAILURE_BURST, until: guard.guarded_until.toISOString() }),
  );
  return true;
}

/** Announces (UserUnlocked) a guard that has lapsed since the account's last scored attempt. */
export async function releaseLapsedGuard(tx: Queryable, userId: string): Promise<void> {
  const lapsed = await releaseLapsedAccountGuard(tx, userId);
  if (lapsed) {
    await insertOutboxEvent(
      tx,
      createEvent('UserUnlocked', userId, { reason: 'guard_expired', guarded_until: lapsed.guarded_until.toISOString() }),
    );
  }
}

/**
 * Whether a sign-in with the right password is refused because the account is guarded
 * and this IP prefix never signed in to it successfully. The owner's known networks keep
 * working, so failures from elsewhere cannot lock the owner out. A known user agent does
 * not count: it is whatever the client sends, and a credential stuffer can copy a browser's.
 */
export async function isSignInRefusedByGuard(
  db: Queryable,
  userId: string,
  client: { ip: string | undefined },
): Promise<boolean> {
  if (!(await isAccountGuarded(db, userId))) return false;
  return !(await hasSignedInFromIpPrefix(db, userId, client.ip));
}
