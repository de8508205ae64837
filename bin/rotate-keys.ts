import { loadConfig } from '../shared/config/config.js';
import { loadDotenv } from '../shared/config/dotenv.js';
import { SecretBox } from '../shared/crypto/secret-box.js';
import { createPool } from '../shared/db/pool.js';
import { rotateSigningKey } from '../shared/domain/rotate-signing-key.js';

/**
 * `npm run keys:rotate`: creates a new ES256 signing key now, whatever the age of the
 * current one, and prints its kid. The new key is published at once and signs after
 * SIGNING_KEY_PUBLISH_LEAD_SECONDS (set it to 0 for this one run to switch at once, for
 * example when a key may have leaked; running processes follow within
 * SIGNING_KEY_RELOAD_SECONDS). Safe beside the scheduled rotation: both take one lock.
 * Exit codes: 0 rotated, 1 failure.
 */
try {
  loadDotenv();
  const config = loadConfig();
  const pool = createPool({ ...config.database, poolMax: 1 }, 'user-services-rotate-keys');
  try {
    const box = new SecretBox(config.appSecret, config.appSecretPrevious);
    const rotation = await rotateSigningKey(pool, box, { leadSeconds: config.signingKeys.publishLeadSeconds });
    const previous = rotation.previousKid ? `; ${rotation.previousKid} signs until then and verifies its tokens until they expire` : '';
    process.stdout.write(`new signing key ${rotation.kid}: published now, signs from ${rotation.signsFrom.toISOString()}${previous}\n`);
  } finally {
    await pool.end();
  }
} catch (error) {
  process.stderr.write(`key rotation failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
