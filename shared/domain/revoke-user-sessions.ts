import type { PoolClient } from '../db/pool.js';
import { revokeRefreshTokensOfUser } from '../db/queries/refresh-tokens.js';
import { revokeSessionsOfUser } from '../db/queries/sessions.js';
import { lockUser } from '../db/queries/users.js';

export interface RevokedSessions {
  sessionIds: string[];
  refreshTokens: number;
}

/**
 * Revokes every session and refresh token of a user, in the caller's transaction.
 * Locks in the house order, users, then sessions, then refresh_tokens, each in id
 * order, so it cannot deadlock with a refresh or a logout running at the same time; a
 * sign-in that commits first is seen, one that waits on the user row opens its session
 * after this commit.
 */
export async function revokeUserSessions(tx: PoolClient, userId: string): Promise<RevokedSessions> {
  await lockUser(tx, userId);
  const sessionIds = await revokeSessionsOfUser(tx, userId);
  const refreshTokens = await revokeRefreshTokensOfUser(tx, userId);
  return { sessionIds, refreshTokens };
}
