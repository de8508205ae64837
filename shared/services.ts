import { Redis } from 'ioredis';
import type { Config } from './config/config.js';
import { AccessTokens } from './crypto/access-tokens.js';
import { PasswordHasher } from './crypto/password-hasher.js';
import { SecretBox } from './crypto/secret-box.js';
import { SigningKeyStore } from './crypto/signing-key-store.js';
import { createPool, type Pool } from './db/pool.js';
import { PasswordPolicy } from './domain/password-policy.js';
import type { Logger } from './logger.js';

/** Everything a role needs, built once per process and passed down. */
export interface Services {
  config: Config;
  log: Logger;
  pool: Pool;
  redis: Redis;
  hasher: PasswordHasher;
  passwordPolicy: PasswordPolicy;
  keys: SigningKeyStore;
  accessTokens: AccessTokens;
}

/** Logs a failing connection once per outage instead of once per retry. */
function logRedisState(redis: Redis, log: Logger): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) log.warn({ reason: error.message }, 'Redis is unreachable; retrying in the background');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('Redis is reachable again');
    down = false;
  });
}

/**
 * Builds the process's connections and shared objects. Nothing here connects
 * eagerly except what init() awaits, so a caller decides when to wait for PostgreSQL.
 */
export function createServices(config: Config, log: Logger): Services & { init(): Promise<void>; close(): Promise<void> } {
  const pool = createPool(config.database);
  pool.on('error', (error) => log.warn({ reason: error.message }, 'idle PostgreSQL client failed'));
  // The API side fails fast when Redis is away instead of queueing commands.
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  logRedisState(redis, log);
  const keys = new SigningKeyStore(pool, new SecretBox(config.appSecret, config.appSecretPrevious));
  return {
    config,
    log,
    pool,
    redis,
    keys,
    hasher: new PasswordHasher(config.hashing),
    passwordPolicy: new PasswordPolicy(config.passwords),
    accessTokens: new AccessTokens(keys, config.tokens),
    async init() {
      redis.connect().catch(() => undefined);
      await keys.init();
    },
    async close() {
      redis.disconnect();
      await pool.end();
    },
  };
}
