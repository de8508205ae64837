import type { Pool } from '../db/pool.js';
import { findAuditLogsOfUser } from '../db/queries/audit-logs.js';
import { findLoginHistoryOfUser } from '../db/queries/login-attempts.js';
import { findMfaMethodSummariesByUserId } from '../db/queries/mfa-methods.js';
import { findRoleNamesByUserId } from '../db/queries/roles.js';
import { findSessionHistoryOfUser } from '../db/queries/sessions.js';
import { findUserProfile } from '../db/queries/user-profiles.js';
import { findUserById } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { describeDevice } from './anomaly/describe-device.js';
import { profileBody } from './update-profile.js';

/** Rows per history in an export; the retention purges keep the tables well below this per user. */
export const EXPORT_ROW_LIMIT = 10_000;

/**
 * GET /me/export: the account's own data (GDPR art. 15/20) as one JSON document: the
 * user row without its hash, profile, roles, second factors (never their secrets), sessions, sign-in attempts and audit
 * entries, newest first. Never a hash, a token or a secret.
 */
export async function exportUserData(pool: Pool, userId: string) {
  const [user, profile, roles, mfa, sessions, logins, audit] = await Promise.all([
    findUserById(pool, userId),
    findUserProfile(pool, userId),
    findRoleNamesByUserId(pool, userId),
    findMfaMethodSummariesByUserId(pool, userId),
    findSessionHistoryOfUser(pool, userId, EXPORT_ROW_LIMIT),
    findLoginHistoryOfUser(pool, userId, EXPORT_ROW_LIMIT),
    findAuditLogsOfUser(pool, userId, EXPORT_ROW_LIMIT),
  ]);
  if (!user) throw new AppError('unauthorized');
  return {
    exported_at: new Date().toISOString(),
    user: {
      id: user.id,
      email: user.email,
      email_verified: user.email_verified,
      status: user.status,
      created_at: user.created_at,
      updated_at: user.updated_at,
    },
    profile: profile ? profileBody(profile) : null,
    roles,
    mfa_methods: mfa,
    sessions: sessions.map((session) => ({
      id: session.id,
      device: describeDevice(session.user_agent) ?? null,
      user_agent: session.user_agent,
      ip: session.ip,
      created_at: session.created_at,
      last_used_at: session.last_used_at,
      expires_at: session.expires_at,
      revoked_at: session.revoked_at,
    })),
    login_history: logins,
    audit_log: audit,
  };
}
