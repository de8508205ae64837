import jwt from 'jsonwebtoken';
import { AppError } from '../errors.js';
import type { SigningKeyStore } from './signing-key-store.js';

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  /** Leeway for exp, nbf and iat between clocks. */
  clockToleranceSeconds: number;
}

export interface AccessClaims {
  sub: string;
  sid: string;
}

/**
 * What a token says beyond whose session it is: `roles`, the user's role names when it
 * was issued (an empty array for most users), and `amr`, for other services to read. This service
 * itself judges roles on the live session at every request, never from the claim.
 */
export interface IssuedClaims extends AccessClaims {
  roles: readonly string[];
  /** How the session's sign-in proved the user (RFC 8176: pwd, otp, hwk, mfa ...). */
  amr: readonly string[];
}

const ALGORITHM = 'ES256';

/** The ids this service puts in sub and sid; anything else, even correctly signed, is no session of ours. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** The token's header and claims, unverified; null for anything that does not decode (jws parses a JWT payload as JSON, and throws on garbage). */
function decodeUnverified(token: string): jwt.Jwt | null {
  try {
    return jwt.decode(token, { complete: true });
  } catch {
    return null;
  }
}

/** Issues and checks ES256 access tokens; the algorithm is pinned and keys come only from the store. */
export class AccessTokens {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly settings: AccessTokenSettings,
  ) {}

  get ttlSeconds(): number {
    return this.settings.accessTtlSeconds;
  }

  sign(claims: IssuedClaims): string {
    const { kid, privateKey } = this.keys.signingKey();
    return jwt.sign({ sid: claims.sid, roles: claims.roles, amr: claims.amr }, privateKey, {
      algorithm: ALGORITHM,
      keyid: kid,
      subject: claims.sub,
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      expiresIn: this.settings.accessTtlSeconds,
    });
  }

  /**
   * Verified claims, or 401 unauthorized. The key comes only from the store by `kid`:
   * key material in the header (jwk, jku, x5c, x5u) is never read. The algorithm is
   * pinned; iss and aud must match; exp is required and a future nbf or iat is refused
   * (both within the clock tolerance); iat may not be older than the token lifetime.
   */
  async verify(token: string): Promise<AccessClaims> {
    const unauthorized = new AppError('unauthorized');
    const decoded = decodeUnverified(token);
    const kid = decoded?.header.kid;
    if (!decoded || decoded.header.alg !== ALGORITHM || typeof kid !== 'string') throw unauthorized;
    const key = await this.keys.publicKey(kid);
    if (!key) throw unauthorized;
    const { issuer, audience, accessTtlSeconds, clockToleranceSeconds } = this.settings;
    try {
      const payload = jwt.verify(token, key, {
        algorithms: [ALGORITHM],
        issuer,
        audience,
        clockTolerance: clockToleranceSeconds,
        // Requires iat and bounds a token's age by the lifetime this service gives its tokens.
        maxAge: accessTtlSeconds,
      });
      // A sid or sub that is not a UUID would make the session lookup fail in PostgreSQL (a 500).
      if (typeof payload === 'string' || !isUuid(payload.sub) || !isUuid(payload.sid)) throw unauthorized;
      // jsonwebtoken skips exp when it is absent; a token without one would never expire.
      if (typeof payload.exp !== 'number') throw unauthorized;
      if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + clockToleranceSeconds) throw unauthorized;
      return { sub: payload.sub, sid: payload.sid };
    } catch {
      throw unauthorized;
    }
  }
}
