import crypto, { type JsonWebKey } from 'node:crypto';
import type { SecretBox } from './secret-box.js';

export interface NewSigningKey {
  kid: string;
  publicJwk: JsonWebKey;
  /** The PKCS#8 PEM of the private half, sealed by the SecretBox (APP_SECRET). */
  privateKeyEncrypted: string;
}

/** RFC 7638 thumbprint of an EC public key: a kid every process derives alike. */
export function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return crypto.createHash('sha256').update(canonical).digest('base64url');
}

/** A fresh P-256 key pair for ES256, ready to insert into signing_keys. */
export function generateSigningKey(box: SecretBox): NewSigningKey {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicKey.export({ format: 'jwk' });
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { kid: thumbprint(publicJwk), publicJwk, privateKeyEncrypted: box.encrypt(privatePem) };
}
