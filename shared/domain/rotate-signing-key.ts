import { generateSigningKey } from '../crypto/signing-key-material.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { withTransaction, type Pool } from '../db/pool.js';
import {
  findNewestSigningKey,
  insertSigningKey,
  lockSigningKeys,
  retireSigningKey,
  type SigningKeyRow,
} from '../db/queries/signing-keys.js';

export interface RotationSettings {
  /**
   * How long the new key is published before it signs (SIGNING_KEY_PUBLISH_LEAD_SECONDS):
   * long enough for every JWKS cache and every running process to know it first.
   */
  leadSeconds: number;
}

export interface Rotation {
  kid: string;
  /** When the new key takes over signing (its predecessor's retirement). */
  signsFrom: Date;
  /** The key it replaces, absent when the table was empty. */
  previousKid: string | undefined;
}

/**
 * Under an advisory lock, in one transaction: when `due(newest)`, schedules the newest
 * key to retire `leadSeconds` from now and inserts a new one that takes over then.
 * Concurrent rotations queue on the lock and each retires the key the one before it
 * created, so there is never more than one key without a retirement time (the unique
 * index signing_keys_one_active enforces it too).
 */
async function rotateWhen(
  pool: Pool,
  box: SecretBox,
  leadSeconds: number,
  due: (newest: SigningKeyRow | undefined) => boolean,
): Promise<Rotation | undefined> {
  // Generated outside the transaction: the lock is held only for the SQL.
  const key = generateSigningKey(box);
  return withTransaction(pool, async (tx) => {
    await lockSigningKeys(tx);
    const previous = await findNewestSigningKey(tx);
    if (!due(previous)) return undefined;
    const signsFrom = previous ? await retireSigningKey(tx, previous.kid, leadSeconds) : new Date();
    await insertSigningKey(tx, key);
    return { kid: key.kid, signsFrom, previousKid: previous?.kid };
  });
}

/** Rotates now (`npm run keys:rotate`); the new key signs after the lead time. */
export async function rotateSigningKey(pool: Pool, box: SecretBox, settings: RotationSettings): Promise<Rotation> {
  const rotation = await rotateWhen(pool, box, settings.leadSeconds, () => true);
  return rotation!;
}

/**
 * Rotates when the newest key is at least `maxAgeDays` old; undefined when no rotation
 * was due. The schedule checks often and acts on age, so a missed or repeated tick
 * neither skips nor doubles a rotation.
 */
export async function rotateSigningKeyIfDue(
  pool: Pool,
  box: SecretBox,
  settings: RotationSettings & { maxAgeDays: number },
): Promise<Rotation | undefined> {
  const maxAgeMs = settings.maxAgeDays * 86_400_000;
  return rotateWhen(pool, box, settings.leadSeconds, (newest) => !newest || Date.now() - newest.created_at.getTime() >= maxAgeMs);
}

/** Creates the first key on an empty table: the first process to start does it, the others find it. */
export async function ensureSigningKey(pool: Pool, box: SecretBox): Promise<void> {
  await rotateWhen(pool, box, 0, (newest) => !newest);
}
