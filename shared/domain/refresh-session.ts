import { hashToken } from '../crypto/random-token.js';
import { withTransaction, type PoolClient } from '../db/pool.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import {
  lockOwnerOfRefreshToken,
  lockRefreshTokenWithSuccessor,
  lockSessionForRefresh,
  revokeSessionWithRefreshTokens,
  rotateRefreshToken,
  rotateUsableRefreshToken,
} from '../db/queries/session-refresh.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';
import type { Services } from '../services.js';
import type { IssuedTokens } from './open-session.js';

type RefreshDeps = Pick<Services, 'pool' | 'accessTokens' | 'config' | 'refreshSuccessor'>;

/** What randomToken() and RefreshTokenSuccessor issue: 32 bytes, base64url. Anything else is not ours. */
const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

interface Refreshed {
  userId: string;
  sessionId: string;
  roles: string[];
  amr: string[];
  refreshToken: string;
}

/**
 * Exchanges a refresh token for a new access token and the token's successor (the
 * token is consumed: rotation on every use). A concurrent retry with the same token
 * within REFRESH_REUSE_GRACE_SECONDS gets the same successor; any other reuse of a
 * consumed token revokes the session and all its refresh tokens and writes
 * SessionRevoked. Unknown, malformed, expired or revoked tokens, sessions past their
 * absolute lifetime or idle timeout, and users who are not active all get the same
 * 401 invalid_token.
 */
export async function refreshSession(deps: RefreshDeps, presented: string): Promise<IssuedTokens> {
  if (!REFRESH_TOKEN_SHAPE.test(presented)) throw new AppError('invalid_token');
  const refreshed = (await rotateAtOnce(deps, presented)) ?? (await refreshStepByStep(deps, presented));
  if (!refreshed) throw new AppError('invalid_token');
  return {
    userId: refreshed.userId,
    sessionId: refreshed.sessionId,
    accessToken: deps.accessTokens.sign({ sub: refreshed.userId, sid: refreshed.sessionId, roles: refreshed.roles, amr: refreshed.amr }),
    expiresIn: deps.accessTokens.ttlSeconds,
    refreshToken: refreshed.refreshToken,
  };
}

/**
 * The usual case, a usable token, in one statement and one round trip; undefined (and
 * nothing changed) for every other case, which refreshStepByStep then judges.
 */
async function rotateAtOnce(deps: RefreshDeps, presented: string): Promise<Refreshed | undefined> {
  const refreshToken = deps.refreshSuccessor.of(presented);
  const rotated = await rotateUsableRefreshToken(deps.pool, {
    tokenHash: hashToken(presented),
    successorHash: hashToken(refreshToken),
    idleSeconds: deps.config.sessions.idleTimeoutSeconds,
  });
  return rotated && { userId: rotated.user_id, sessionId: rotated.session_id, roles: rotated.roles, amr: rotated.amr, refreshToken };
}

/** A refusal returns instead of throwing, so that a revocation it made is committed. */
function refreshStepByStep(deps: RefreshDeps, presented: string): Promise<Refreshed | undefined> {
  return withTransaction(deps.pool, (tx) => refreshInTransaction(tx, deps, presented));
}

async function refreshInTransaction(tx: PoolClient, deps: RefreshDeps, presented: string): Promise<Refreshed | undefined> {
  const { sessions } = deps.config;
  const tokenHash = hashToken(presented);
  const owner = await lockOwnerOfRefreshToken(tx, tokenHash);
  if (!owner || owner.status !== 'active') return undefined;
  // The session lock serialises refreshes of one session: whoever waits here reads the
  // token below as the holder left it.
  if (!(await lockSessionForRefresh(tx, owner.session_id, sessions.idleTimeoutSeconds))) return undefined;
  const token = await lockRefreshTokenWithSuccessor(tx, tokenHash, sessions.refreshReuseGraceSeconds);
  if (!token || token.revoked) return undefined;

  const refreshed = { userId: owner.user_id, sessionId: owner.session_id, roles: owner.roles, amr: owner.amr, refreshToken: deps.refreshSuccessor.of(presented) };
  if (!token.consumed) {
    if (!token.live) return undefined;
    const rotated = await rotateRefreshToken(tx, {
      tokenId: token.id,
      sessionId: owner.session_id,
      successorHash: hashToken(refreshed.refreshToken),
      idleSeconds: sessions.idleTimeoutSeconds,
    });
    if (!rotated) throw new Error(`refresh token ${token.id} was consumed under its session's lock`);
    return refreshed;
  }
  // A concurrent retry: hand out the successor again, as long as nobody has used it yet.
  // (Its hash differs only if APP_SECRET changed within the grace: treated as reuse.)
  if (token.within_grace && token.successor_unused && token.successor_hash === hashToken(refreshed.refreshToken)) {
    return refreshed;
  }
  // Reuse of a consumed token: either the client or a thief holds a stale copy, and
  // there is no telling which, so the whole session goes.
  await revokeSessionWithRefreshTokens(tx, owner.session_id);
  await insertOutboxEvent(tx, createEvent('SessionRevoked', owner.user_id, { session_id: owner.session_id, reason: 'refresh_token_reuse' }));
  return undefined;
}
