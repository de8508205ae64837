import type { Queryable } from '../pool.js';

export interface AccountGuard {
  user_id: string;
  reason: string;
  guarded_from: Date;
  guarded_until: Date;
}

/**
 * Guards an account until `until`, or extends a running guard to then; nothing when
 * `until` has passed (a late-scored, stale failure). `started` is true only when this
 * call began a new guard (none was running), so one burst emits one UserLocked however
 * many failures keep it going. Concurrent callers serialize on the row: the second
 * sees the first's guard as running.
 */
export async function upsertAccountGuard(
  db: Queryable,
  userId: string,
  reason: string,
  until: Date,
): Promise<(AccountGuard & { started: boolean }) | undefined> {
  const { rows } = await db.query<AccountGuard & { started: boolean }>(
    `INSERT INTO account_guards AS g (user_id, reason, guarded_from, guarded_until)
     SELECT $1, $2, statement_timestamp(), $3 WHERE $3 > statement_timestamp()
     ON CONFLICT (user_id) DO UPDATE SET
       reason = CASE WHEN g.guarded_until > statement_timestamp() THEN g.reason ELSE EXCLUDED.reason END,
       guarded_from = CASE WHEN g.guarded_until > statement_timestamp() THEN g.guarded_from ELSE EXCLUDED.guarded_from END,
       guarded_until = greatest(g.guarded_until, EXCLUDED.guarded_until),
       released_at = NULL
     RETURNING user_id, reason, guarded_from, guarded_until, guarded_from = statement_timestamp() AS started`,
    [userId, reason, until],
  );
  return rows[0];
}

/** Whether the account is guarded now. */
export async function isAccountGuarded(db: Queryable, userId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM account_guards WHERE user_id = $1 AND guarded_until > now()', [userId]);
  return rows.length > 0;
}

/** Up to `limit` users whose guard lapsed and was not announced yet. */
export async function findLapsedAccountGuards(db: Queryable, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ user_id: string }>(
    'SELECT user_id FROM account_guards WHERE guarded_until <= now() AND released_at IS NULL ORDER BY guarded_until LIMIT $1',
    [limit],
  );
  return rows.map((row) => row.user_id);
}

/** Marks a lapsed, not yet announced guard as released; returns it when there was one. */
export async function releaseLapsedAccountGuard(db: Queryable, userId: string): Promise<AccountGuard | undefined> {
  const { rows } = await db.query<AccountGuard>(
    `UPDATE account_guards SET released_at = now()
      WHERE user_id = $1 AND guarded_until <= now() AND released_at IS NULL
      RETURNING user_id, reason, guarded_from, guarded_until`,
    [userId],
  );
  return rows[0];
}
