import crypto from 'node:crypto';

/** A URL-safe random token: 256 bits by default, never below 128. */
export function randomToken(bytes = 32): string {
  return crypto.randomBytes(Math.max(bytes, 16)).toString('base64url');
}

/** What the database keeps instead of a token: its SHA-256, hex. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}
