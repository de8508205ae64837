import crypto, { type JsonWebKey, type KeyObject } from 'node:crypto';
import { findUsableSigningKeys, insertActiveSigningKeyIfNone } from '../db/queries/signing-keys.js';
import type { Pool } from '../db/pool.js';
import type { SecretBox } from './secret-box.js';

export interface ActiveKey {
  kid: string;
  privateKey: KeyObject;
}

/** RFC 7638 thumbprint of an EC public key: a kid every process derives alike. */
function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return crypto.createHash('sha256').update(canonical).digest('base64url');
}

/** How often an unknown kid may trigger a reload, so forged kids cannot flood the database. */
const RELOAD_INTERVAL_MS = 5_000;

/**
 * ES256 signing keys kept in PostgreSQL (private halves encrypted), cached in memory.
 * The first process to start on an empty database creates the first key.
 */
export class SigningKeyStore {
  private active: ActiveKey | undefined;
  private publicKeys = new Map<string, KeyObject>();
  private jwks: JsonWebKey[] = [];
  private loadedAt = 0;

  constructor(
    private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  async init(): Promise<void> {
    await this.load();
    if (this.active) return;
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = publicKey.export({ format: 'jwk' });
    const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await insertActiveSigningKeyIfNone(this.pool, {
      kid: thumbprint(publicJwk),
      publicJwk,
      privateKeyEncrypted: this.box.encrypt(privatePem),
    });
    await this.load();
    if (!this.active) throw new Error('no active signing key after creating one');
  }

  signingKey(): ActiveKey {
    if (!this.active) throw new Error('SigningKeyStore.init() was not awaited');
    return this.active;
  }

  /** The public key for a kid, reloading (rate-limited) when another process rotated. */
  async publicKey(kid: string): Promise<KeyObject | undefined> {
    const known = this.publicKeys.get(kid);
    if (known || Date.now() - this.loadedAt < RELOAD_INTERVAL_MS) return known;
    await this.load();
    return this.publicKeys.get(kid);
  }

  /** The JSON Web Key Set: the signing key and retired keys still valid. */
  publicJwks(): { keys: JsonWebKey[] } {
    return { keys: this.jwks };
  }

  private async load(): Promise<void> {
    const rows = await findUsableSigningKeys(this.pool);
    const current = rows.find((row) => row.retired_at === null);
    this.active = current && {
      kid: current.kid,
      privateKey: crypto.createPrivateKey(this.box.decrypt(current.private_key_encrypted)),
    };
    this.publicKeys = new Map(rows.map((row) => [row.kid, crypto.createPublicKey({ key: row.public_jwk, format: 'jwk' })]));
    this.jwks = rows.map((row) => ({ ...row.public_jwk, kid: row.kid, alg: 'ES256', use: 'sig' }));
    this.loadedAt = Date.now();
  }
}
