import { Redis } from 'ioredis';
import type { WorkerRole } from '../shared/config/config.js';
import type { Component } from '../shared/process/boot.js';
import { closeQueues, createQueues } from '../shared/queues/queues.js';
import type { Services } from '../shared/services.js';
import { startAnomalyWorker } from './anomaly/start-anomaly-worker.js';
import { startAuditWorker } from './audit/start-audit-worker.js';
import { checkRedisEviction } from './check-redis-eviction.js';
import { startEmailWorker } from './email/start-email-worker.js';
import { startMaintenance } from './maintenance/start-maintenance.js';
import { startRelay } from './relay/start-relay.js';
import type { WorkerDeps } from './worker-deps.js';

type RoleStarter = (deps: WorkerDeps) => Promise<Component>;

/** Each worker role and how it starts; WORKER_QUEUES picks which run in this process. */
const ROLES: Partial<Record<WorkerRole, RoleStarter>> = {
  anomaly: startAnomalyWorker,
  audit: startAuditWorker,
  email: startEmailWorker,
  maintenance: startMaintenance,
  relay: startRelay,
};

/** Starts the worker roles named by WORKER_QUEUES; stop() closes them in reverse order. */
export async function startWorkers(services: Services): Promise<Component> {
  const { config, log } = services;
  const workerRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  workerRedis.on('error', () => undefined);
  // Checked on every (re)connection: a Redis that comes back may be another one.
  workerRedis.on('ready', () => void checkRedisEviction(workerRedis, log));
  await workerRedis.connect().catch((error: Error) => log.warn({ reason: error.message }, 'Redis is not reachable yet; workers will wait for it'));
  const queues = createQueues(workerRedis, config.queuePrefix);
  // An outage is reported by each worker's 'error' listener; without a listener of their
  // own the queues would print every failed reconnect to stderr, outside the JSON log.
  for (const queue of Object.values(queues)) queue.on('error', () => undefined);
  const deps: WorkerDeps = { ...services, workerRedis, queues };

  const started: Component[] = [];
  for (const role of config.workerQueues) {
    const start = ROLES[role];
    if (!start) {
      log.warn({ role }, 'worker role is not implemented yet');
      continue;
    }
    started.push(await start(deps));
    log.info({ role }, 'worker role started');
  }

  return {
    name: 'workers',
    async stop() {
      for (const component of started.reverse()) await component.stop();
      await closeQueues(queues);
      workerRedis.disconnect();
    },
  };
}
