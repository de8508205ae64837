import type { Queryable } from '../pool.js';

export interface LoginAttempt {
  userId: string | undefined;
  email: string;
  ip: string | undefined;
  userAgent: string | undefined;
  success: boolean;
  /** Why it failed (invalid_password, unknown_email, account_locked, ...); null on success. */
  reason: string | null;
}

/** Records one attempt; returns its id, which the login events carry. */
export async function insertLoginAttempt(db: Queryable, attempt: LoginAttempt): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO login_attempts (user_id, email, ip_addr, user_agent, success, reason)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [attempt.userId ?? null, attempt.email, attempt.ip ?? null, attempt.userAgent ?? null, attempt.success, attempt.reason],
  );
  return rows[0]!.id;
}
