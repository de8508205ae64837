import { hashToken, randomToken } from '../crypto/random-token.js';
import type { Queryable } from '../db/pool.js';
import { revokeSessionsBeyond } from '../db/queries/sessions.js';
import { recordSignIn } from '../db/queries/sign-in.js';
import type { SignInState } from '../db/queries/users.js';
import { createEvent, createEventEnvelope } from '../events/create-event.js';
import type { Services } from '../services.js';

/** What a sign-in or a refresh hands the client: the session's access token and its refresh token. */
export interface IssuedTokens {
  userId: string;
  sessionId: string;
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
}

export interface SessionOpening {
  userId: string;
  email: string;
  ip: string | undefined;
  userAgent: string | undefined;
  /** The hash the password was verified against: the session opens only while it is still the stored one. */
  verifiedHash: string;
  /** How the user proved who they are (RFC 8176): the access token's amr, kept with the session. */
  amr: readonly string[];
}

/**
 * The one way a session opens: recordSignIn's single statement writes the session, its
 * first refresh token (stored only as a hash), the login_attempts row and LoginSucceeded
 * while the account allows it, and an access token is signed for it; past
 * SESSION_MAX_PER_USER live sessions, the least recently used are revoked
 * (session_limit). Otherwise the
 * account's state comes back for the caller to judge (undefined: the user row is gone).
 */
export async function openSession(
  db: Queryable,
  { accessTokens, config }: Pick<Services, 'accessTokens' | 'config'>,
  opening: SessionOpening,
): Promise<{ issued: IssuedTokens } | { refusedBy: SignInState | undefined }> {
  const refreshToken = randomToken();
  const outcome = await recordSignIn(db, {
    ...opening,
    ttlSeconds: config.sessions.absoluteTtlSeconds,
    refreshTokenHash: hashToken(refreshToken),
    event: createEventEnvelope('LoginSucceeded', opening.userId),
  });
  if (!outcome?.recorded) return { refusedBy: outcome };
  const sessionId = outcome.recorded.session_id;
  const { maxPerUser } = config.sessions;
  if (maxPerUser > 0) {
    // The event as checked; the statement writes each revoked session's id and a fresh event_id into it.
    await revokeSessionsBeyond(db, opening.userId, maxPerUser, createEvent('SessionRevoked', opening.userId, { session_id: sessionId, reason: 'session_limit' }));
  }
  return {
    issued: {
      userId: opening.userId,
      sessionId,
      accessToken: accessTokens.sign({ sub: opening.userId, sid: sessionId, roles: outcome.recorded.roles, amr: opening.amr }),
      expiresIn: accessTokens.ttlSeconds,
      refreshToken,
    },
  };
}
