import type { WorkerRole } from '../shared/config/config.js';
import type { Component } from '../shared/process/boot.js';
import { registerQueueCollector } from '../shared/metrics/queue-collector.js';
import { QUEUE_NAMES, type QueueName } from '../shared/queues/jobs.js';
import { createQueueSet } from '../shared/queues/queue-set.js';
import type { Services } from '../shared/services.js';
import { startAnomalyWorker } from './anomaly/start-anomaly-worker.js';
import { startAuditWorker } from './audit/start-audit-worker.js';
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

/**
 * Starts the worker roles named by WORKER_QUEUES, and reports their queues in
 * bullmq_jobs; stop() closes them in reverse order.
 */
export async function startWorkers(services: Services): Promise<Component> {
  const { config, log } = services;
  const queueSet = createQueueSet(config, log, 'consumer');
  const deps: WorkerDeps = { ...services, queueSet };
  const ownQueues = QUEUE_NAMES.filter((name: QueueName) => (config.workerQueues as readonly string[]).includes(name));
  const queueGauges = ownQueues.length > 0 ? registerQueueCollector(services.metrics.registry, queueSet.queues, ownQueues, log) : undefined;

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
      queueGauges?.remove();
      await queueSet.close();
    },
  };
}
