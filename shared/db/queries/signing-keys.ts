import type { JsonWebKey } from 'node:crypto';
import type { NewSigningKey } from '../../crypto/signing-key-material.js';
import type { PoolClient, Queryable } from '../pool.js';

export interface SigningKeyRow {
  kid: string;
  public_jwk: JsonWebKey;
  private_key_encrypted: string;
  created_at: Date;
  /** NULL for the newest key; a future time for a key still signing until its successor takes over. */
  retired_at: Date | null;
}

/** Any fixed 64-bit number: "user-services signing-key rotation" to every process. */
const ROTATION_LOCK_KEY = '7215011634110211502';

/**
 * Serialises key creation and rotation for the rest of the caller's transaction, so
 * two rotations at once run one after the other instead of both retiring the same key.
 */
export async function lockSigningKeys(tx: PoolClient): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [ROTATION_LOCK_KEY]);
}

/**
 * The keys to publish and verify with: the newest, the one it replaces while the
 * handover is pending, and retired keys whose tokens may still be live (retired less
 * than `graceSeconds` ago).
 */
export async function findPublishedSigningKeys(db: Queryable, graceSeconds: number): Promise<SigningKeyRow[]> {
  const { rows } = await db.query<SigningKeyRow>(
    `SELECT kid, public_jwk, private_key_encrypted, created_at, retired_at
       FROM signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
      ORDER BY created_at DESC`,
    [graceSeconds],
  );
  return rows;
}

/** The newest key (the one not scheduled to retire): signing now, or from its predecessor's retirement on. */
export async function findNewestSigningKey(db: Queryable): Promise<SigningKeyRow | undefined> {
  const { rows } = await db.query<SigningKeyRow>(
    `SELECT kid, public_jwk, private_key_encrypted, created_at, retired_at FROM signing_keys WHERE retired_at IS NULL`,
  );
  return rows[0];
}

/** Schedules a key's retirement `afterSeconds` from now; returns that moment. */
export async function retireSigningKey(tx: PoolClient, kid: string, afterSeconds: number): Promise<Date> {
  const { rows } = await tx.query<{ retired_at: Date }>(
    `UPDATE signing_keys SET retired_at = now() + make_interval(secs => $2) WHERE kid = $1 RETURNING retired_at`,
    [kid, afterSeconds],
  );
  if (!rows[0]) throw new Error(`signing key ${kid} vanished while locked`);
  return rows[0].retired_at;
}

/** Inserts a key as the newest; the caller has retired the previous newest in the same transaction. */
export async function insertSigningKey(tx: PoolClient, key: NewSigningKey): Promise<void> {
  await tx.query(`INSERT INTO signing_keys (kid, public_jwk, private_key_encrypted) VALUES ($1, $2, $3)`, [
    key.kid,
    JSON.stringify(key.publicJwk),
    key.privateKeyEncrypted,
  ]);
}
