import type PgBoss from 'pg-boss';
import type { Config } from '../../shared/config/config.js';
import { SecretBox } from '../../shared/crypto/secret-box.js';
import type { Pool } from '../../shared/db/pool.js';
import { rotateSigningKeyIfDue, type Rotation } from '../../shared/domain/rotate-signing-key.js';
import type { Logger } from '../../shared/logger.js';

/** The pg-boss queue, and schedule, of the signing-key rotation. */
export const KEY_ROTATION_QUEUE = 'signing-key-rotation';

/**
 * Hourly (UTC): each tick rotates only when the newest key has reached
 * SIGNING_KEY_ROTATION_DAYS, so a rotation is at most an hour late and a missed tick
 * costs nothing.
 */
export const KEY_ROTATION_CRON = '41 * * * *';

/** Creates the queue and its schedule; call under the maintenance start-up lock. */
export async function scheduleKeyRotation(boss: PgBoss): Promise<void> {
  // pg-boss 10: a schedule needs its queue to exist first.
  await boss.createQueue(KEY_ROTATION_QUEUE, {
    name: KEY_ROTATION_QUEUE,
    policy: 'stately',
    retryLimit: 5,
    retryDelay: 60,
    retryBackoff: true,
    expireInSeconds: 300,
  });
  await boss.schedule(KEY_ROTATION_QUEUE, KEY_ROTATION_CRON, {}, { tz: 'UTC' });
}

/** Works the rotation queue: rotates when due, under the rotation lock (safe beside `npm run keys:rotate`). */
export async function workKeyRotation(
  boss: PgBoss,
  deps: { config: Config; pool: Pool; log: Logger },
  pollingIntervalSeconds: number,
): Promise<void> {
  const { config, pool, log } = deps;
  const box = new SecretBox(config.appSecret, config.appSecretPrevious);
  await boss.work(KEY_ROTATION_QUEUE, { batchSize: 1, pollingIntervalSeconds }, async (): Promise<Rotation | null> => {
    const rotation = await rotateSigningKeyIfDue(pool, box, {
      maxAgeDays: config.signingKeys.rotationDays,
      leadSeconds: config.signingKeys.publishLeadSeconds,
    });
    if (rotation) {
      log.info({ kid: rotation.kid, previous_kid: rotation.previousKid, signs_from: rotation.signsFrom.toISOString() }, 'signing key rotated');
    }
    return rotation ?? null;
  });
}
