import crypto from 'node:crypto';

interface BoxKey {
  id: string;
  key: Buffer;
}

function deriveKey(secret: string): BoxKey {
  const key = Buffer.from(crypto.hkdfSync('sha256', secret, 'user-services', 'secret-box/aes-256-gcm', 32));
  // The key's id is a fingerprint, so a ciphertext names the secret it needs.
  const id = crypto.createHash('sha256').update(key).digest('base64url').slice(0, 8);
  return { id, key };
}

/**
 * AES-256-GCM for secrets at rest (TOTP seeds, private keys) under a key derived from
 * APP_SECRET. Ciphertexts are `v1.<key id>.<iv>.<data+tag>`; previous secrets still
 * decrypt, so APP_SECRET can rotate.
 */
export class SecretBox {
  private readonly current: BoxKey;
  private readonly keys: Map<string, BoxKey>;

  constructor(secret: string, previousSecrets: string[] = []) {
    this.current = deriveKey(secret);
    this.keys = new Map([this.current, ...previousSecrets.map(deriveKey)].map((k) => [k.id, k]));
  }

  encrypt(plaintext: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.current.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return ['v1', this.current.id, iv.toString('base64url'), data.toString('base64url')].join('.');
  }

  decrypt(box: string): string {
    const [version, keyId, iv, data] = box.split('.');
    const key = keyId === undefined ? undefined : this.keys.get(keyId);
    if (version !== 'v1' || !key || !iv || !data) {
      throw new Error(`cannot decrypt: unknown format or key ${keyId ?? '?'} (was APP_SECRET changed without APP_SECRET_PREVIOUS?)`);
    }
    const bytes = Buffer.from(data, 'base64url');
    const decipher = crypto.createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
  }
}
