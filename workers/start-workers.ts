import type { Component } from '../shared/process/boot.js';
import type { Services } from '../shared/services.js';

/**
 * Starts the worker roles named by WORKER_QUEUES. The roles themselves (relay, email,
 * audit, anomaly, maintenance) arrive with the worker-platform issue; until then this
 * process entry only reports which roles it was asked for.
 */
export async function startWorkers({ config, log }: Services): Promise<Component> {
  log.info({ roles: config.workerQueues }, 'worker roles requested; no role is implemented yet');
  return { name: 'workers', stop: async () => undefined };
}
