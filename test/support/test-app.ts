import net, { type AddressInfo } from 'node:net';
import { createApp } from '../../api/app.js';
import { createApiServer } from '../../api/http-server.js';
import { loadConfig, type Config } from '../../shared/config/config.js';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../shared/logger.js';
import { createQueueSet, type QueueSet } from '../../shared/queues/queue-set.js';
import { createServices, type Services } from '../../shared/services.js';
import { registerTestPrefix, testPrefix } from './redis-keys.js';
import { databaseUrlFor } from './test-database.js';

export interface TestApp {
  url: string;
  services: Services;
  /** The web side's queues, which the dashboard shows. */
  queueSet: QueueSet;
  close(): Promise<void>;
}

/**
 * This run's queue and rate-limit key prefixes in the shared Redis, for every app and
 * worker that names none of its own: runs do not count against each other, and no test
 * touches an install's default prefix (us). Their keys are removed when the run ends
 * (test/support/hooks.ts).
 */
const QUEUE_PREFIX = testPrefix('test-q');
const RATE_LIMIT_PREFIX = testPrefix('test-rl');
export const RUN_WIDE_PREFIXES: readonly string[] = [QUEUE_PREFIX, RATE_LIMIT_PREFIX];

/**
 * The test environment: the real services of this machine, quiet logs, cheap-but-real
 * argon2, and rate limits scaled out of the way of the suites' bursts of logins and
 * registrations (test/rate-limits.test.ts sets small ones of its own). The key prefixes
 * it ends up with are recorded as this run's, so the run's end checks that none is left.
 */
export function testEnv(database: string, overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrlFor(database),
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    RABBITMQ_URL: process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/',
    APP_SECRET: 'test-secret-that-is-long-enough-for-production-use',
    PUBLIC_URL: 'http://localhost:8001',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    RATE_LIMIT_SCALE: '10000',
    // A loaded test machine must not make Redis look away and the per-process stand-in answer.
    RATE_LIMIT_REDIS_TIMEOUT_MS: '3000',
    QUEUE_PREFIX,
    RATE_LIMIT_PREFIX,
    ...overrides,
  };
  for (const prefix of [env.QUEUE_PREFIX, env.RATE_LIMIT_PREFIX]) if (prefix) registerTestPrefix(prefix);
  return env;
}

/** A port free at this moment, for an app whose PUBLIC_URL must name its own port. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Builds the same graph as the web process, on its own database, listening on a free
 * port; its log lines go to `logTo` when given (stdout otherwise).
 */
export async function startTestApp(database: string, overrides: NodeJS.ProcessEnv = {}, logTo?: DestinationStream): Promise<TestApp> {
  const config: Config = loadConfig(testEnv(database, overrides));
  const services = createServices(config, createLogger(config.logLevel, undefined, logTo));
  await services.init();
  const queueSet = createQueueSet(config, services.log, 'producer');
  const server = createApiServer(createApp(services, async () => queueSet.queues).callback(), { ...config.http, trustProxyHops: config.trustProxyHops });
  // PORT 0 (the default here): any free port; a test that needs the URL up front (a browser's origin) names one.
  await new Promise<void>((resolve) => server.listen(config.port, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    services,
    queueSet,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queueSet.close();
      await services.close();
    },
  };
}
