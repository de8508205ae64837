import { loadConfig } from '../../shared/config/config.js';
import { createLogger } from '../../shared/logger.js';
import { createServices } from '../../shared/services.js';
import { startWorkers } from '../../workers/start-workers.js';
import { testDatabase } from './hooks.js';
import { testEnv } from './test-app.js';

export interface WorkerRoles {
  stop(): Promise<void>;
}

/**
 * A worker process in-process: config from the environment (the test database plus the
 * given overrides, e.g. WORKER_QUEUES, REDIS_URL, SMTP_URL, QUEUE_PREFIX,
 * REACTION_TIMEOUT_SECONDS), its own services, and the roles started as workers/main.ts
 * starts them. stop() stops them as SIGTERM would and closes the services.
 */
export async function startWorkerRoles(overrides: NodeJS.ProcessEnv): Promise<WorkerRoles> {
  const config = loadConfig(testEnv(testDatabase(), overrides));
  const services = createServices(config, createLogger(config.logLevel, 'test-workers'));
  await services.init();
  const workers = await startWorkers(services);
  return {
    async stop() {
      await workers.stop();
      await services.close();
    },
  };
}
