import type { Queryable } from '../db/pool.js';
import { insertRefreshToken } from '../db/queries/refresh-tokens.js';
import { insertSession } from '../db/queries/sessions.js';
import { hashToken, randomToken } from '../crypto/random-token.js';
import type { Services } from '../services.js';

export interface IssuedTokens {
  sessionId: string;
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
}

/** Opens a session with its first refresh token (stored only as a hash) and an access token. */
export async function openSession(
  tx: Queryable,
  { accessTokens, config }: Pick<Services, 'accessTokens' | 'config'>,
  session: { userId: string; ip: string | undefined; userAgent: string | undefined },
): Promise<IssuedTokens> {
  const row = await insertSession(tx, { ...session, ttlSeconds: config.sessions.absoluteTtlSeconds });
  const refreshToken = randomToken();
  await insertRefreshToken(tx, row.id, hashToken(refreshToken), row.expires_at);
  return {
    sessionId: row.id,
    accessToken: accessTokens.sign({ sub: session.userId, sid: row.id }),
    expiresIn: accessTokens.ttlSeconds,
    refreshToken,
  };
}
