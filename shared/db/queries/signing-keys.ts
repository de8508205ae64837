import type { JsonWebKey } from 'node:crypto';
import type { Queryable } from '../pool.js';

export interface SigningKeyRow {
  kid: string;
  public_jwk: JsonWebKey;
  private_key_encrypted: string;
  retired_at: Date | null;
  expires_at: Date | null;
}

/** The signing key plus every retired key whose tokens may still be live. */
export async function findUsableSigningKeys(db: Queryable): Promise<SigningKeyRow[]> {
  const { rows } = await db.query<SigningKeyRow>(
    `SELECT kid, public_jwk, private_key_encrypted, retired_at, expires_at
       FROM signing_keys
      WHERE expires_at IS NULL OR expires_at > now()
      ORDER BY created_at DESC`,
  );
  return rows;
}

/** Inserts a new active key unless another process already did; true when this one won. */
export async function insertActiveSigningKeyIfNone(
  db: Queryable,
  key: { kid: string; publicJwk: JsonWebKey; privateKeyEncrypted: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO signing_keys (kid, public_jwk, private_key_encrypted) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [key.kid, JSON.stringify(key.publicJwk), key.privateKeyEncrypted],
  );
  return rowCount === 1;
}
