import type { Pool } from '../db/pool.js';
import { findRecentLoginAttemptsOfUser } from '../db/queries/login-attempts.js';
import { findMfaMethodSummariesByUserId } from '../db/queries/mfa-methods.js';
import { findActiveSessionsOfUser } from '../db/queries/sessions.js';
import { findUserListing } from '../db/queries/user-search.js';
import { findUserProfile } from '../db/queries/user-profiles.js';
import { AppError } from '../errors.js';
import { describeDevice } from './anomaly/describe-device.js';
import { profileBody } from './update-profile.js';

/** Login attempts an operator sees on an account's page. */
export const ADMIN_LOGIN_ATTEMPTS = 50;

/**
 * An account as an operator sees it (GET /admin/users/:id): its fields, profile and
 * roles, its live sessions, its second factors (never a secret) and its latest sign-in
 * attempts with their anomaly scores. 404 for an unknown id.
 */
export async function describeUserForAdmin(pool: Pool, userId: string, idleTimeoutSeconds: number) {
  const [user, profile, sessions, mfa, attempts] = await Promise.all([
    findUserListing(pool, userId),
    findUserProfile(pool, userId),
    findActiveSessionsOfUser(pool, userId, idleTimeoutSeconds),
    findMfaMethodSummariesByUserId(pool, userId),
    findRecentLoginAttemptsOfUser(pool, userId, ADMIN_LOGIN_ATTEMPTS),
  ]);
  if (!user) throw new AppError('not_found');
  const { position: _position, ...fields } = user;
  return {
    ...fields,
    profile: profile ? profileBody(profile) : null,
    sessions: sessions.map(({ user_agent, ...session }) => ({ ...session, device: describeDevice(user_agent) ?? null })),
    mfa,
    login_attempts: attempts,
  };
}
