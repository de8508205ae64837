import { Redis } from 'ioredis';
import type { Config } from './config/config.js';
import { AccessTokens } from './crypto/access-tokens.js';
import { PasswordHasher } from './crypto/password-hasher.js';
import { RefreshTokenSuccessor } from './crypto/refresh-token-successor.js';
import { SecretBox } from './crypto/secret-box.js';
import { SigningKeyStore } from './crypto/signing-key-store.js';
import { watchDatabaseOutage, type DatabaseOutage } from './db/database-outage.js';
import { createPool, type Pool } from './db/pool.js';
import { EqualTiming } from './domain/equal-timing.js';
import { PasswordPolicy } from './domain/password-policy.js';
import { createReadinessCheck, type Readiness } from './health/readiness.js';
import type { Logger } from './logger.js';
import { HashingCollector } from './metrics/hashing-collector.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { RateLimits } from './rate-limit/rate-limits.js';

/** Everything a role needs, built once per process and passed down. */
export interface Services {
  config: Config;
  log: Logger;
  pool: Pool;
  /** Logs a PostgreSQL outage once at each end; requests that meet it are told (503). */
  databaseOutage: DatabaseOutage;
  redis: Redis;
  hasher: PasswordHasher;
  passwordPolicy: PasswordPolicy;
  keys: SigningKeyStore;
  /** AES-256-GCM for secrets at rest (signing keys, TOTP seeds) under APP_SECRET. */
  secretBox: SecretBox;
  accessTokens: AccessTokens;
  /** Limits per IP and account, shared by every API instance through Redis (docs/api.md, "Rate limits"). */
  rateLimits: RateLimits;
  refreshSuccessor: RefreshTokenSuccessor;
  /** Pads POST /password/forgot to one time, whether or not the address has an account. */
  forgotPasswordTiming: EqualTiming;
  /** The process's metrics registry and counters; served on METRICS_PORT when set (docs/operations.md, "Metrics and alerts"). */
  metrics: Metrics;
  /** GET /ready's check; it caches the broker's answer for the process. */
  readiness: () => Promise<Readiness>;
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
  const databaseOutage = watchDatabaseOutage(pool, log);
  // The API side fails fast when Redis is away instead of queueing commands. Commands sent
  // in the same tick (concurrent requests' limit counts) go out in one write: on this kind
  // of host each socket write costs more than the command itself.
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true, enableAutoPipelining: true });
  logRedisState(redis, log);
  const { tokens, signingKeys } = config;
  const secretBox = new SecretBox(config.appSecret, config.appSecretPrevious);
  const keys = new SigningKeyStore(
    pool,
    secretBox,
    {
      reloadIntervalMs: signingKeys.reloadSeconds * 1000,
      retiredKeyGraceSeconds: tokens.accessTtlSeconds + signingKeys.reloadSeconds + tokens.clockToleranceSeconds,
    },
    log,
  );
  const metrics = createMetrics();
  const hashing = new HashingCollector(metrics.registry);
  const hasher = new PasswordHasher(config.hashing, hashing);
  hashing.watch(hasher);
  return {
    config,
    log,
    pool,
    databaseOutage,
    redis,
    keys,
    secretBox,
    hasher,
    metrics,
    passwordPolicy: new PasswordPolicy(config.passwords),
    accessTokens: new AccessTokens(keys, config.tokens),
    rateLimits: new RateLimits(config.rateLimits, redis, log, config.anomaly),
    refreshSuccessor: new RefreshTokenSuccessor(config.appSecret),
    forgotPasswordTiming: new EqualTiming(),
    readiness: createReadinessCheck({ pool, redis, config }),
    async init() {
      redis.connect().catch(() => undefined);
      await keys.init();
    },
    async close() {
      keys.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
