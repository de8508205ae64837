import { findMfaMethodSummariesByUserId } from '../db/queries/mfa-methods.js';
import { findRoleNamesByUserId } from '../db/queries/roles.js';
import { findUserProfile } from '../db/queries/user-profiles.js';
import { findUserById } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import type { Pool } from '../db/pool.js';

/** The account as its owner sees it (GET /me): no hash, no secrets. */
export async function describeUser(pool: Pool, userId: string) {
  const [user, profile, roles, mfa] = await Promise.all([
    findUserById(pool, userId),
    findUserProfile(pool, userId),
    findRoleNamesByUserId(pool, userId),
    findMfaMethodSummariesByUserId(pool, userId),
  ]);
  if (!user) throw new AppError('unauthorized');
  return {
    id: user.id,
    email: user.email,
    email_verified: user.email_verified,
    status: user.status,
    created_at: user.created_at,
    roles,
    profile: profile
      ? { display_name: profile.display_name, avatar_url: profile.avatar_url, locale: profile.locale, time_zone: profile.time_zone }
      : null,
    mfa: { enabled: mfa.length > 0, methods: mfa },
  };
}
