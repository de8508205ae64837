import jwt from 'jsonwebtoken';
import { AppError } from '../errors.js';
import type { SigningKeyStore } from './signing-key-store.js';

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
}

export interface AccessClaims {
  sub: string;
  sid: string;
}

const ALGORITHM = 'ES256';

/** Issues and checks ES256 access tokens; the algorithm is pinned and keys come only from the store. */
export class AccessTokens {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly settings: AccessTokenSettings,
  ) {}

  get ttlSeconds(): number {
    return this.settings.accessTtlSeconds;
  }

  sign(claims: AccessClaims): string {
    const { kid, privateKey } = this.keys.signingKey();
    return jwt.sign({ sid: claims.sid }, privateKey, {
      algorithm: ALGORITHM,
      keyid: kid,
      subject: claims.sub,
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      expiresIn: this.settings.accessTtlSeconds,
    });
  }

  /** Verified claims, or 401 unauthorized: header key material (jwk, jku, x5c) is never trusted. */
  async verify(token: string): Promise<AccessClaims> {
    const unauthorized = new AppError('unauthorized');
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded?.header.kid;
    if (!decoded || decoded.header.alg !== ALGORITHM || typeof kid !== 'string') throw unauthorized;
    const key = await this.keys.publicKey(kid);
    if (!key) throw unauthorized;
    try {
      const payload = jwt.verify(token, key, {
        algorithms: [ALGORITHM],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
      });
      if (typeof payload === 'string' || typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw unauthorized;
      return { sub: payload.sub, sid: payload.sid };
    } catch {
      throw unauthorized;
    }
  }
}
