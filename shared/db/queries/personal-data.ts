import type { PoolClient } from '../pool.js';

/**
 * Erases what identifies a deleted account's owner, across the tables that hold it, in
 * the caller's transaction (the user row locked first): the profile's fields, the
 * addresses and devices of its sessions and sign-in attempts, and its second factors and
 * outstanding mailed tokens. Kept apart from the per-table modules because it is one
 * rule: what "delete my account" removes. audit_logs is append-only and keeps its rows
 * until the retention purge.
 */
export async function erasePersonalDataOfUser(tx: PoolClient, userId: string): Promise<void> {
  await tx.query(
    `UPDATE user_profiles SET display_name = NULL, avatar_url = NULL, locale = NULL, time_zone = NULL, updated_at = now()
      WHERE user_id = $1`,
    [userId],
  );
  await tx.query('UPDATE sessions SET user_agent = NULL, ip_addr = NULL WHERE user_id = $1', [userId]);
  await tx.query('UPDATE login_attempts SET email = NULL, ip_addr = NULL, user_agent = NULL WHERE user_id = $1', [userId]);
  for (const table of ['mfa_methods', 'recovery_codes', 'mfa_challenges', 'password_resets', 'email_verification_tokens', 'security_tokens']) {
    await tx.query(`DELETE FROM ${table} WHERE user_id = $1`, [userId]);
  }
}
