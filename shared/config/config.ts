import os from 'node:os';
import { EnvReader } from './env-reader.js';

export const WORKER_ROLES = ['relay', 'email', 'audit', 'anomaly', 'maintenance'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
const DEV_SECRET = 'development-only-secret-do-not-use-in-production!';

export interface DatabaseConfig {
  /** A libpq URL; built from POSTGRES_* when DATABASE_URL is not set. */
  url: string;
  poolMax: number;
  connectTimeoutMs: number;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  publicUrl: string;
  logLevel: (typeof LOG_LEVELS)[number];
  appSecret: string;
  /** Earlier APP_SECRETs, still accepted for decrypting secrets at rest. */
  appSecretPrevious: string[];
  /** True when APP_SECRET was not given and the development secret stands in. */
  usingDevSecret: boolean;
  trustProxyHops: number;
  migrateOnStart: boolean;
  shutdownTimeoutMs: number;
  database: DatabaseConfig;
  redisUrl: string;
  rabbitmqUrl: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  workerQueues: WorkerRole[];
  queuePrefix: string;
  rateLimitScale: number;
  hashing: {
    concurrency: number;
    queueLimit: number;
    memoryKiB: number;
    timeCost: number;
    parallelism: number;
  };
  passwords: { minLength: number; maxLength: number; minScore: number };
  tokens: {
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    sessionTtlSeconds: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function databaseUrl(env: EnvReader): string {
  const explicit = env.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
  if (explicit) return explicit;
  const url = new URL('postgres://localhost');
  url.hostname = env.string('POSTGRES_HOST', 'localhost');
  url.port = String(env.int('POSTGRES_PORT', 5432, { min: 1, max: 65535 }));
  url.username = env.string('POSTGRES_USER', 'user');
  url.password = env.string('POSTGRES_PASSWORD', 'password');
  url.pathname = `/${env.string('POSTGRES_DB', 'userdb')}`;
  url.searchParams.set('sslmode', env.oneOf('POSTGRES_SSLMODE', SSL_MODES, 'disable'));
  return url.toString();
}

function redisUrl(env: EnvReader): string {
  const explicit = env.url('REDIS_URL', undefined, ['redis:', 'rediss:']);
  if (explicit) return explicit;
  const addr = env.string('REDIS_ADDR', 'localhost:6379');
  if (!/^[\w.-]+:\d{1,5}$|^\[[\da-fA-F:]+\]:\d{1,5}$/.test(addr)) {
    env.problems.push(`REDIS_ADDR must be host:port, got "${addr}"`);
    return 'redis://localhost:6379';
  }
  const url = new URL(`redis://${addr}`);
  const password = env.optional('REDIS_PASSWORD');
  if (password) url.password = encodeURIComponent(password);
  return url.toString();
}

function rabbitmqUrl(env: EnvReader): string {
  const explicit = env.url('RABBITMQ_URL', undefined, ['amqp:', 'amqps:']);
  if (explicit) return explicit;
  const user = encodeURIComponent(env.string('RABBITMQ_USER', 'guest'));
  const password = encodeURIComponent(env.string('RABBITMQ_PASSWORD', 'guest'));
  const vhost = encodeURIComponent(env.string('RABBITMQ_VHOST', '/'));
  return `amqp://${user}:${password}@localhost:5672/${vhost}`;
}

/** Parses the whole configuration once; throws ConfigError naming every problem. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = new EnvReader(source);
  const nodeEnv = env.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const port = env.int('PORT', 8001, { min: 0, max: 65535 });
  const publicUrl = (env.url('PUBLIC_URL', `http://localhost:${port}`, ['http:', 'https:']) ?? '').replace(/\/+$/, '');

  const givenSecret = env.optional('APP_SECRET');
  if (nodeEnv === 'production' && givenSecret === undefined) {
    env.problems.push('APP_SECRET is required when NODE_ENV=production');
  } else if (nodeEnv === 'production' && givenSecret !== undefined && givenSecret.length < 32) {
    env.problems.push('APP_SECRET must be at least 32 characters when NODE_ENV=production');
  }

  const cores = os.availableParallelism();
  const config: Config = {
    env: nodeEnv,
    port,
    publicUrl,
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    appSecret: givenSecret ?? DEV_SECRET,
    appSecretPrevious: env.list('APP_SECRET_PREVIOUS', []),
    usingDevSecret: givenSecret === undefined,
    trustProxyHops: env.int('TRUST_PROXY_HOPS', 0, { max: 10 }),
    migrateOnStart: env.bool('MIGRATE_ON_START', true),
    shutdownTimeoutMs: env.int('SHUTDOWN_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    database: {
      url: databaseUrl(env),
      poolMax: env.int('PG_POOL_MAX', 10, { min: 1, max: 1000 }),
      connectTimeoutMs: env.int('DB_CONNECT_TIMEOUT_MS', 30_000, { min: 0, max: 3_600_000 }),
    },
    redisUrl: redisUrl(env),
    rabbitmqUrl: rabbitmqUrl(env),
    smtpUrl: env.url('SMTP_URL', undefined, ['smtp:', 'smtps:']),
    mailFrom: env.string('MAIL_FROM', 'user-services <no-reply@localhost>'),
    workerQueues: env.list('WORKER_QUEUES', WORKER_ROLES, WORKER_ROLES) as WorkerRole[],
    queuePrefix: env.string('QUEUE_PREFIX', 'us'),
    rateLimitScale: env.number('RATE_LIMIT_SCALE', 1, { min: 0.001, max: 1_000_000 }),
    hashing: {
      concurrency: env.int('HASH_CONCURRENCY', cores, { min: 1, max: 256 }),
      queueLimit: env.int('HASH_QUEUE_LIMIT', 256, { min: 0, max: 100_000 }),
      memoryKiB: env.int('ARGON2_MEMORY_KIB', 19_456, { min: 1024, max: 4_194_304 }),
      timeCost: env.int('ARGON2_TIME_COST', 2, { min: 1, max: 100 }),
      parallelism: env.int('ARGON2_PARALLELISM', 1, { min: 1, max: 64 }),
    },
    passwords: {
      minLength: env.int('PASSWORD_MIN_LENGTH', 12, { min: 8, max: 256 }),
      maxLength: env.int('PASSWORD_MAX_LENGTH', 256, { min: 8, max: 1024 }),
      minScore: env.int('PASSWORD_MIN_SCORE', 3, { min: 0, max: 4 }),
    },
    tokens: {
      issuer: env.string('JWT_ISSUER', publicUrl),
      audience: env.string('JWT_AUDIENCE', 'user-services'),
      accessTtlSeconds: env.int('ACCESS_TOKEN_TTL_SECONDS', 900, { min: 30, max: 86_400 }),
      sessionTtlSeconds: env.int('SESSION_TTL_SECONDS', 30 * 86_400, { min: 300, max: 400 * 86_400 }),
    },
  };
  if (config.passwords.minLength > config.passwords.maxLength) {
    env.problems.push('PASSWORD_MIN_LENGTH must not exceed PASSWORD_MAX_LENGTH');
  }
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return config;
}
