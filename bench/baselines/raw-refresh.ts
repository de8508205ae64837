/**
 * The refresh of a usable token with nothing around it, shared by the raw refresh
 * baselines (refresh-transaction.ts, bare-http-refresh.ts): the very statement the app
 * rotates a usable token with (imported from shared/db/queries/session-refresh.ts) on a
 * plain pg pool of PG_POOL_MAX connections, the successor's HMAC and an ES256 signature
 * with jsonwebtoken, with the settings the app would read from the same environment.
 */
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { loadConfig } from '../../shared/config/config.js';
import { rotateUsableRefreshToken } from '../../shared/db/queries/session-refresh.js';

export interface RawRefresher {
  /** Refreshes `presented`: the successor and the signed access token. Throws if the token is not usable. */
  refresh(presented: string): Promise<{ refreshToken: string; accessToken: string; expiresIn: number }>;
  end(): Promise<void>;
}

export function rawRefresher(env: NodeJS.ProcessEnv): RawRefresher {
  const config = loadConfig(env);
  const { idleTimeoutSeconds } = config.sessions;
  const pool = new pg.Pool({ connectionString: config.database.url, max: config.database.poolMax });
  const successorKey = crypto.createSecretKey(
    Buffer.from(crypto.hkdfSync('sha256', config.appSecret, Buffer.alloc(0), 'user-services/refresh-token-successor/v1', 32)),
  );
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

  return {
    async refresh(presented) {
      const refreshToken = crypto.createHmac('sha256', successorKey).update(presented, 'utf8').digest('base64url');
      const owner = await rotateUsableRefreshToken(pool, {
        tokenHash: sha256(presented),
        successorHash: sha256(refreshToken),
        idleSeconds: idleTimeoutSeconds,
      });
      if (!owner) throw new Error('token not usable');
      const accessToken = jwt.sign({ sid: owner.session_id, roles: owner.roles, amr: owner.amr }, privateKey, {
        algorithm: 'ES256',
        keyid: 'bench',
        subject: owner.user_id,
        issuer: config.tokens.issuer,
        audience: config.tokens.audience,
        expiresIn: config.tokens.accessTtlSeconds,
      });
      return { refreshToken, accessToken, expiresIn: config.tokens.accessTtlSeconds };
    },
    end: () => pool.end(),
  };
}
