import net from 'node:net';
import os from 'node:os';
import { EnvReader } from './env-reader.js';
import { readRateLimitSettings, type RateLimitSettings } from './rate-limit-settings.js';

export const WORKER_ROLES = ['relay', 'email', 'audit', 'anomaly', 'maintenance'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
const DEV_SECRET = 'development-only-secret-do-not-use-in-production!';
/**
 * How long clients may cache GET /.well-known/jwks.json. A new signing key is published
 * at least this long plus one key reload before it signs (SIGNING_KEY_PUBLISH_LEAD_SECONDS),
 * so no cached key set lacks the key of a token a client receives.
 */
export const JWKS_MAX_AGE_SECONDS = 300;

export interface DatabaseConfig {
  /** A libpq URL; built from POSTGRES_* when DATABASE_URL is not set. */
  url: string;
  poolMax: number;
  connectTimeoutMs: number;
}

export interface WebauthnConfig {
  /** WEBAUTHN_RP_ID: a registrable domain (default the host of PUBLIC_URL). */
  rpId: string;
  rpName: string;
  /** The origins a browser may answer from (default the origin of PUBLIC_URL). */
  origins: string[];
  /**
   * Why WebAuthn cannot work on this install (the RP id is an IP address, which browsers
   * refuse): the WebAuthn routes then answer 503 and the start logs it. Undefined: usable.
   */
  unavailableReason: string | undefined;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  /** The address the API binds (HOST); undefined: every interface, IPv6 and IPv4 (Node's default). */
  host: string | undefined;
  /**
   * GET /metrics on a listener of its own (docs/operations.md, "Metrics and alerts"):
   * METRICS_PORT (undefined: no listener) on METRICS_HOST (127.0.0.1 unless set).
   */
  metrics: { port: number | undefined; host: string };
  publicUrl: string;
  logLevel: (typeof LOG_LEVELS)[number];
  appSecret: string;
  /** Earlier APP_SECRETs, still accepted for decrypting secrets at rest. */
  appSecretPrevious: string[];
  /** True when APP_SECRET was not given and the development secret stands in. */
  usingDevSecret: boolean;
  trustProxyHops: number;
  migrateOnStart: boolean;
  /**
   * POST /register answers 201 for a taken address too, and mails its owner instead
   * (docs/security.md, "Registration without enumeration").
   */
  registerEnumerationSafe: boolean;
  /** The issuer authenticator apps show for this service's TOTP entries. */
  totpIssuer: string;
  /** WebAuthn's relying party (docs/security.md, "WebAuthn and passkeys"). */
  webauthn: WebauthnConfig;
  shutdownTimeoutMs: number;
  database: DatabaseConfig;
  redisUrl: string;
  rabbitmqUrl: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Where mail is written as .eml files when SMTP_URL is not set (development). */
  mailDir: string;
  /** Mail jobs the email role runs at once, and the SMTP connections its pooled transport keeps. */
  emailConcurrency: number;
  smtpMaxConnections: number;
  workerQueues: WorkerRole[];
  queuePrefix: string;
  /** Per-action, per-key limits (docs/api.md, "Rate limits"); RATE_LIMIT_SCALE is applied. */
  rateLimits: RateLimitSettings;
  /** The HTTP server's guards against slow and numerous connections (docs/configuration.md, "HTTP server"). */
  http: {
    /** A request's headers must arrive within this long (Node's headersTimeout). */
    headersTimeoutMs: number;
    /** A whole request, body included, must arrive within this long (Node's requestTimeout). */
    requestTimeoutMs: number;
    /** Open connections one client address may hold (RATE_LIMIT_SCALE applied); not applied behind a trusted proxy. */
    maxConnectionsPerIp: number;
    /** Open connections the process takes in total (RATE_LIMIT_SCALE applied). */
    maxConnections: number;
  };
  hashing: {
    concurrency: number;
    queueLimit: number;
    memoryKiB: number;
    timeCost: number;
    parallelism: number;
  };
  passwords: { minLength: number; maxLength: number; minScore: number };
  /** Days rows are kept before the maintenance purge removes them (docs/operations.md, "Maintenance"). */
  retention: {
    /** Sessions (and their refresh tokens) this long after they expired or were revoked. */
    sessionDays: number;
    /** Published outbox rows; unpublished ones are never purged. */
    outboxDays: number;
    /** Completed reactions (the workers' idempotency rows). */
    reactionDays: number;
    loginAttemptDays: number;
    auditDays: number;
  };
  maintenance: {
    /** pg-boss cron of the purge (UTC); it runs once per cluster. */
    cron: string;
    batches: {
      /** The most rows one DELETE may remove. */
      maxRows: number;
      /** About how long one DELETE may hold its row locks: batches are sized to it. */
      statementMs: number;
    };
  };
  tokens: {
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    /** Leeway for exp and nbf against clocks that disagree a little. */
    clockToleranceSeconds: number;
  };
  /** ES256 signing keys and their rotation (docs/api.md, "Signing keys"). */
  signingKeys: {
    /** The maintenance role rotates when the newest key is this old. */
    rotationDays: number;
    /** A new key is published this long before it signs, so JWKS caches and running processes know it first. */
    publishLeadSeconds: number;
    /** How often every process reads the keys again, to follow a rotation. */
    reloadSeconds: number;
  };
  /** Session lifetimes and refresh token rotation (docs/api.md, "Sessions and refresh"). */
  sessions: {
    /** A session ends this long after its sign-in, however often it is refreshed. */
    absoluteTtlSeconds: number;
    /** A session ends when it has not been refreshed for this long. */
    idleTimeoutSeconds: number;
    /** A consumed refresh token presented again within this long gets the same successor instead of revoking the session. */
    refreshReuseGraceSeconds: number;
    /** Live sessions a user may hold; a sign-in past it revokes the least recently used (session_limit). 0: no cap (load tests). */
    maxPerUser: number;
  };
  /** Login anomaly scoring (docs/security.md, "Login anomaly scoring"). */
  anomaly: {
    /** A successful sign-in scoring at least this (0-100) mails a "new sign-in" notice. */
    notifyThreshold: number;
    /** Window of the failure-velocity features (per account and per IP). */
    velocityWindowSeconds: number;
    /** This many failures on one account within guardWindowSeconds guard it. */
    guardFailures: number;
    guardWindowSeconds: number;
    /** How long a guard lasts after the last failure of the burst. */
    guardSeconds: number;
    /** A success after this many days without one scores as a dormant account. */
    dormantDays: number;
    /** Lifetime of a "this wasn't me" link. */
    notMeTtlSeconds: number;
  };
  /** The outbox relay (docs/operations.md, "The outbox relay"). */
  relay: {
    /** Rows claimed, published and marked per batch. */
    batchSize: number;
    /** Batches published and awaiting their confirms at once. */
    inflightBatches: number;
    /** Counted publish failures after which a row is set aside for replay. */
    maxAttempts: number;
    /** How long a claimed row stays leased to the relay that claimed it. */
    leaseSeconds: number;
    /** How long the relay waits for the broker's confirms of a batch. */
    confirmTimeoutMs: number;
    /** How often the relay looks for rows when no NOTIFY woke it. */
    sweepIntervalMs: number;
    /** How often a standby relay tries to take the leader lock. */
    standbyRetryMs: number;
    /** A leader whose lock connection stays silent this long (a frozen process) loses the lock. */
    leaderTimeoutMs: number;
    /** Reactions not completed this long after they were enqueued are enqueued again. */
    reactionTimeoutSeconds: number;
    /** How often the leader looks for such reactions. */
    reactionSweepIntervalMs: number;
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

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** HOST or METRICS_HOST: an IP address (IPv6 without brackets) or a host name; unset, undefined. */
function listenHost(env: EnvReader, name: string): string | undefined {
  const raw = env.optional(name)?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (net.isIP(raw) === 0 && !HOST_NAME.test(raw)) {
    env.problems.push(`${name} must be an IP address (such as 127.0.0.1 or ::1, no brackets) or a host name, got "${raw}"`);
    return undefined;
  }
  return raw;
}

/** METRICS_PORT (unset: metrics are not served) and METRICS_HOST; never the API's own port. */
function metricsListener(env: EnvReader, apiPort: number): Config['metrics'] {
  const port = env.optional('METRICS_PORT') === undefined ? undefined : env.int('METRICS_PORT', 0, { min: 1, max: 65535 });
  if (port !== undefined && port === apiPort) env.problems.push(`METRICS_PORT must differ from PORT (${apiPort}): /metrics is never served on the public port`);
  return { port: port === 0 ? undefined : port, host: listenHost(env, 'METRICS_HOST') ?? '127.0.0.1' };
}

/** A cron expression of 5 fields (or 6, with seconds); pg-boss checks the fields themselves. */
function cronExpression(env: EnvReader, name: string, fallback: string): string {
  const value = env.string(name, fallback).trim();
  const fields = value.split(/\s+/).length;
  if ((fields !== 5 && fields !== 6) || !/^[\d*,/\-\sA-Za-z?LW#]+$/.test(value)) {
    env.problems.push(`${name} must be a cron expression of 5 fields, got "${value}"`);
    return fallback;
  }
  return value;
}

/**
 * The relying party: its id (a host name; an IP address is refused by every browser, so
 * then WebAuthn is off and the rest works), its name, and the origins answers may come
 * from. A WEBAUTHN_ORIGINS entry must be an http(s) origin whose host is the RP id or
 * below it.
 */
function webauthnConfig(env: EnvReader, publicUrl: string): WebauthnConfig {
  const fallback = publicUrl === '' ? new URL('http://localhost') : new URL(publicUrl);
  const rpId = env.string('WEBAUTHN_RP_ID', fallback.hostname.replace(/^\[|\]$/g, '')).trim().toLowerCase();
  const rpName = env.string('WEBAUTHN_RP_NAME', 'user-services');
  const origins: string[] = [];
  for (const raw of env.list('WEBAUTHN_ORIGINS', [fallback.origin])) {
    let origin: URL | undefined;
    try {
      origin = new URL(raw);
    } catch {
      origin = undefined;
    }
    if (!origin || !['http:', 'https:'].includes(origin.protocol) || origin.origin !== raw.replace(/\/+$/, '')) {
      env.problems.push(`WEBAUTHN_ORIGINS must list origins such as https://example.com (scheme, host and port only), got "${raw}"`);
      continue;
    }
    origins.push(origin.origin);
  }
  let unavailableReason: string | undefined;
  if (net.isIP(rpId) !== 0) {
    unavailableReason = `the WebAuthn relying party id "${rpId}" is an IP address, which browsers refuse; set WEBAUTHN_RP_ID (or PUBLIC_URL) to a host name`;
  } else if (!HOST_NAME.test(rpId)) {
    env.problems.push(`WEBAUTHN_RP_ID must be a host name such as example.com, got "${rpId}"`);
  } else {
    for (const origin of origins) {
      const host = new URL(origin).hostname;
      if (host !== rpId && !host.endsWith(`.${rpId}`)) env.problems.push(`WEBAUTHN_ORIGINS entry ${origin} is not on WEBAUTHN_RP_ID ${rpId} or below it`);
    }
  }
  return { rpId, rpName, origins, unavailableReason };
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
  const keyReloadSeconds = env.int('SIGNING_KEY_RELOAD_SECONDS', 60, { min: 1, max: 3_600 });
  const rateLimits = readRateLimitSettings(env, source, env.string('QUEUE_PREFIX', 'us'));
  const scaled = (points: number) => Math.max(1, Math.round(points * rateLimits.scale));
  const config: Config = {
    env: nodeEnv,
    port,
    host: listenHost(env, 'HOST'),
    metrics: metricsListener(env, port),
    publicUrl,
    logLevel: env.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    appSecret: givenSecret ?? DEV_SECRET,
    appSecretPrevious: env.list('APP_SECRET_PREVIOUS', []),
    usingDevSecret: givenSecret === undefined,
    trustProxyHops: env.int('TRUST_PROXY_HOPS', 0, { max: 10 }),
    migrateOnStart: env.bool('MIGRATE_ON_START', true),
    registerEnumerationSafe: env.bool('REGISTER_ENUMERATION_SAFE', false),
    totpIssuer: env.string('TOTP_ISSUER', 'user-services'),
    webauthn: webauthnConfig(env, publicUrl),
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
    mailDir: env.string('MAIL_DIR', 'mail-out'),
    emailConcurrency: env.int('EMAIL_CONCURRENCY', 200, { min: 1, max: 10_000 }),
    smtpMaxConnections: env.int('SMTP_MAX_CONNECTIONS', 5, { min: 1, max: 100 }),
    workerQueues: env.list('WORKER_QUEUES', WORKER_ROLES, WORKER_ROLES) as WorkerRole[],
    queuePrefix: env.string('QUEUE_PREFIX', 'us'),
    rateLimits,
    http: {
      headersTimeoutMs: env.int('HTTP_HEADERS_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
      requestTimeoutMs: env.int('HTTP_REQUEST_TIMEOUT_MS', 30_000, { min: 100, max: 3_600_000 }),
      maxConnectionsPerIp: scaled(env.int('HTTP_MAX_CONNECTIONS_PER_IP', 128, { min: 1, max: 1_000_000 })),
      maxConnections: scaled(env.int('HTTP_MAX_CONNECTIONS', 1024, { min: 1, max: 1_000_000 })),
    },
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
    retention: {
      sessionDays: env.int('SESSION_RETENTION_DAYS', 30, { min: 0, max: 36_500 }),
      outboxDays: env.int('OUTBOX_RETENTION_DAYS', 7, { min: 0, max: 36_500 }),
      reactionDays: env.int('REACTION_RETENTION_DAYS', 7, { min: 0, max: 36_500 }),
      loginAttemptDays: env.int('LOGIN_ATTEMPT_RETENTION_DAYS', 90, { min: 0, max: 36_500 }),
      auditDays: env.int('AUDIT_RETENTION_DAYS', 365, { min: 1, max: 36_500 }),
    },
    maintenance: {
      cron: cronExpression(env, 'MAINTENANCE_CRON', '17 * * * *'),
      batches: {
        maxRows: env.int('MAINTENANCE_BATCH_SIZE', 1_000, { min: 1, max: 100_000 }),
        statementMs: env.int('MAINTENANCE_STATEMENT_MS', 50, { min: 1, max: 60_000 }),
      },
    },
    tokens: {
      issuer: env.string('JWT_ISSUER', publicUrl),
      audience: env.string('JWT_AUDIENCE', 'user-services'),
      accessTtlSeconds: env.int('ACCESS_TOKEN_TTL_SECONDS', 900, { min: 30, max: 86_400 }),
      clockToleranceSeconds: env.int('JWT_CLOCK_TOLERANCE_SECONDS', 30, { min: 0, max: 300 }),
    },
    signingKeys: {
      rotationDays: env.int('SIGNING_KEY_ROTATION_DAYS', 30, { min: 1, max: 3_650 }),
      publishLeadSeconds: env.int('SIGNING_KEY_PUBLISH_LEAD_SECONDS', JWKS_MAX_AGE_SECONDS + keyReloadSeconds, { min: 0, max: 86_400 }),
      reloadSeconds: keyReloadSeconds,
    },
    sessions: {
      absoluteTtlSeconds: env.int('SESSION_ABSOLUTE_TTL_DAYS', 30, { min: 1, max: 400 }) * 86_400,
      idleTimeoutSeconds: env.int('SESSION_IDLE_TIMEOUT_DAYS', 7, { min: 1, max: 400 }) * 86_400,
      refreshReuseGraceSeconds: env.int('REFRESH_REUSE_GRACE_SECONDS', 10, { min: 0, max: 300 }),
      maxPerUser: env.int('SESSION_MAX_PER_USER', 50, { min: 0, max: 1_000_000 }),
    },
    anomaly: {
      notifyThreshold: env.int('ANOMALY_NOTIFY_THRESHOLD', 50, { min: 1, max: 100 }),
      velocityWindowSeconds: env.int('ANOMALY_VELOCITY_WINDOW_SECONDS', 900, { min: 10, max: 86_400 }),
      guardFailures: env.int('ANOMALY_GUARD_FAILURES', 10, { min: 2, max: 10_000 }),
      guardWindowSeconds: env.int('ANOMALY_GUARD_WINDOW_SECONDS', 900, { min: 10, max: 86_400 }),
      guardSeconds: env.int('ANOMALY_GUARD_SECONDS', 3_600, { min: 10, max: 30 * 86_400 }),
      dormantDays: env.int('ANOMALY_DORMANT_DAYS', 90, { min: 1, max: 3_650 }),
      notMeTtlSeconds: env.int('ANOMALY_NOT_ME_TTL_SECONDS', 3 * 86_400, { min: 300, max: 30 * 86_400 }),
    },
    relay: {
      batchSize: env.int('OUTBOX_BATCH_SIZE', 500, { min: 1, max: 10_000 }),
      inflightBatches: env.int('OUTBOX_INFLIGHT_BATCHES', 3, { min: 1, max: 64 }),
      maxAttempts: env.int('OUTBOX_MAX_ATTEMPTS', 10, { min: 1, max: 1_000 }),
      leaseSeconds: env.int('OUTBOX_LEASE_SECONDS', 60, { min: 5, max: 3_600 }),
      confirmTimeoutMs: env.int('OUTBOX_CONFIRM_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
      sweepIntervalMs: env.int('OUTBOX_SWEEP_MS', 1_000, { min: 50, max: 60_000 }),
      standbyRetryMs: env.int('RELAY_STANDBY_RETRY_MS', 1_500, { min: 100, max: 60_000 }),
      leaderTimeoutMs: env.int('RELAY_LEADER_TIMEOUT_MS', 5_000, { min: 1_000, max: 600_000 }),
      reactionTimeoutSeconds: env.int('REACTION_TIMEOUT_SECONDS', 60, { min: 1, max: 86_400 }),
      reactionSweepIntervalMs: env.int('REACTION_SWEEP_MS', 5_000, { min: 100, max: 600_000 }),
    },
  };
  if (config.relay.leaseSeconds * 1000 < 2 * config.relay.confirmTimeoutMs) {
    env.problems.push('OUTBOX_LEASE_SECONDS must be at least twice OUTBOX_CONFIRM_TIMEOUT_MS, so a lease outlives a batch');
  }
  if (config.sessions.idleTimeoutSeconds > config.sessions.absoluteTtlSeconds) {
    env.problems.push('SESSION_IDLE_TIMEOUT_DAYS must not exceed SESSION_ABSOLUTE_TTL_DAYS');
  }
  if (env.optional('SESSION_TTL_SECONDS') !== undefined) {
    env.problems.push('SESSION_TTL_SECONDS is no longer read: set SESSION_ABSOLUTE_TTL_DAYS (and SESSION_IDLE_TIMEOUT_DAYS) instead');
  }
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    env.problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS: the headers are part of the request');
  }
  if (config.passwords.minLength > config.passwords.maxLength) {
    env.problems.push('PASSWORD_MIN_LENGTH must not exceed PASSWORD_MAX_LENGTH');
  }
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return config;
}
