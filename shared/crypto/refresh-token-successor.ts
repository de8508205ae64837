import crypto, { type KeyObject } from 'node:crypto';

/** HKDF label of the successor key: no other use of APP_SECRET derives the same bytes. */
const LABEL = 'user-services/refresh-token-successor/v1';

/**
 * Derives a refresh token's successor from the token itself with a keyed HMAC
 * (HMAC-SHA256 under a key derived from APP_SECRET). Only hashes of refresh tokens are
 * stored, so this is what lets a concurrent retry of the same refresh be handed the
 * successor already issued: it is computed again from the parent the client presents.
 * Without the key, a successor cannot be computed from its parent.
 */
export class RefreshTokenSuccessor {
  private readonly key: KeyObject;

  constructor(appSecret: string) {
    this.key = crypto.createSecretKey(Buffer.from(crypto.hkdfSync('sha256', appSecret, Buffer.alloc(0), LABEL, 32)));
  }

  /** The successor of `token`: 256 bits, URL-safe, like a fresh random token. */
  of(token: string): string {
    return crypto.createHmac('sha256', this.key).update(token, 'utf8').digest('base64url');
  }
}
