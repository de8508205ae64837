import type { PoolClient } from '../db/pool.js';
import { deleteMfaChallengesOfUser } from '../db/queries/mfa-challenges.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { revokeRefreshTokensOfUser } from '../db/queries/refresh-tokens.js';
import { revokeSessionsOfUser } from '../db/queries/sessions.js';
import { lockUser } from '../db/queries/users.js';
import { createEvent } from '../events/create-event.js';
import type { SESSION_END_REASONS } from '../events/event-fields.js';

/** Why a session ended, as SessionRevoked's data.reason says. */
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** A SessionRevoked event per session, in the caller's transaction; `actorId` is the administrator who ended them. */
export async function recordSessionsRevoked(tx: PoolClient, userId: string, sessionIds: string[], reason: SessionEndReason, actorId?: string): Promise<void> {
  for (const sessionId of sessionIds) {
    await insertOutboxEvent(tx, createEvent('SessionRevoked', userId, { session_id: sessionId, reason, ...(actorId ? { actor_id: actorId } : {}) }));
  }
}

export interface RevokedSessions {
  sessionIds: string[];
  refreshTokens: number;
}

/**
 * Revokes every session and refresh token of a user, with a SessionRevoked event per
 * session giving `reason`, in the caller's transaction.
 * Locks in the house order, users, then sessions, then refresh_tokens, each in id
 * order, so it cannot deadlock with a refresh or a logout running at the same time; a
 * sign-in that commits first is seen, one that waits on the user row opens its session
 * after this commit.
 */
export async function revokeUserSessions(tx: PoolClient, userId: string, reason: SessionEndReason, actorId?: string): Promise<RevokedSessions> {
  await lockUser(tx, userId);
  const sessionIds = await revokeSessionsOfUser(tx, userId);
  const refreshTokens = await revokeRefreshTokensOfUser(tx, userId);
  await recordSessionsRevoked(tx, userId, sessionIds, reason, actorId);
  // A sign-in waiting for its second step must not outlive the sessions it would join.
  await deleteMfaChallengesOfUser(tx, userId);
  return { sessionIds, refreshTokens };
}
