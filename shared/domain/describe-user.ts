import { findUserOverview } from '../db/queries/user-overview.js';
import { AppError } from '../errors.js';
import type { Pool } from '../db/pool.js';

/** The account as its owner sees it (GET /me): no hash, no secrets. */
export async function describeUser(pool: Pool, userId: string) {
  const user = await findUserOverview(pool, userId);
  if (!user) throw new AppError('unauthorized');
  return {
    id: user.id,
    email: user.email,
    email_verified: user.email_verified,
    status: user.status,
    created_at: user.created_at,
    roles: user.roles,
    profile: user.profile,
    mfa: { enabled: user.mfa.length > 0, methods: user.mfa },
  };
}
