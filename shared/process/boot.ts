import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { loadDotenv } from '../config/dotenv.js';
import { migrate, MigrationError } from '../db/migrator.js';
import { redactUrl } from '../db/pool.js';
import { DatabaseUnavailableError, waitForDatabase } from '../db/wait-for-database.js';
import { createLogger } from '../logger.js';
import { collectProcessMetrics } from '../metrics/metrics.js';
import { MetricsListenError, startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { projectRoot } from '../project-root.js';
import { createServices, type Services } from '../services.js';

/** A running part of the process (HTTP server, worker set) that can stop gracefully. */
export interface Component {
  name: string;
  stop(): Promise<void>;
}

export type Starter = (services: Services) => Promise<Component>;

/** Errors whose message says it all: printed without a stack. */
const EXPECTED = [ConfigError, DatabaseUnavailableError, MigrationError, MetricsListenError];

function readConfig(): Config {
  loadDotenv();
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * The composition root of every process: config, logger, services, database wait,
 * migrations, then the given components, and GET /metrics on METRICS_PORT when it is set;
 * SIGTERM/SIGINT stop the components all together, bounded by SHUTDOWN_TIMEOUT_MS, then
 * the metrics listener (scrapes still see the drain), and then close the connections.
 */
export async function boot(name: string, starters: Starter[]): Promise<void> {
  // Set by bin/size-threadpool.cjs, preloaded by every start script; read before .env is.
  const threadpoolSized = process.env.UV_THREADPOOL_SIZE !== undefined;
  const config = readConfig();
  const log = createLogger(config.logLevel, name);
  if (!threadpoolSized) {
    log.warn('UV_THREADPOOL_SIZE was not set at start: libuv runs 4 threads, which caps hashing and may starve file and DNS work. Start with `node --require ./bin/size-threadpool.cjs` (the npm scripts, Procfile and image do).');
  }
  process.on('unhandledRejection', (reason) => {
    log.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
  if (config.usingDevSecret) log.warn('APP_SECRET is not set: using the fixed development secret. Never do this in production.');

  const services = createServices(config, log);
  const components: Component[] = [];
  let metricsServer: MetricsServer | undefined;
  let stopping = false;

  async function shutdown(signal: string): Promise<void> {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeout_ms: config.shutdownTimeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    // Every component stops taking work at once (the API must not keep accepting while the
    // workers drain); the connections close only once every component has finished.
    await Promise.all(
      components.map((component) =>
        component.stop().catch((error: unknown) => log.error({ err: error, component: component.name }, 'stop failed')),
      ),
    );
    await metricsServer?.stop();
    await services.close();
    log.info('stopped');
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    log.info({ database: redactUrl(config.database.url) }, 'connecting to PostgreSQL');
    await waitForDatabase(services.pool, config.database.url, config.database.connectTimeoutMs, log);
    if (config.migrateOnStart) await migrate(services.pool, path.join(projectRoot(), 'migrations'), log);
    await services.init();
    if (config.metrics.port !== undefined) {
      collectProcessMetrics(services.metrics.registry);
      metricsServer = await startMetricsServer(services.metrics.registry, { port: config.metrics.port, host: config.metrics.host }, log);
    }
    for (const start of starters) components.push(await start(services));
  } catch (error) {
    if (EXPECTED.some((type) => error instanceof type)) log.fatal((error as Error).message);
    else log.fatal({ err: error }, 'start failed');
    await metricsServer?.stop().catch(() => undefined);
    await services.close().catch(() => undefined);
    process.exit(1);
  }
}
