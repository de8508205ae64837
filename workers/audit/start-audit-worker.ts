import type { Component } from '../../shared/process/boot.js';
import { createWorker } from '../create-worker.js';
import type { WorkerDeps } from '../worker-deps.js';
import { writeAuditLog } from './write-audit-log.js';

/**
 * The audit role: a BullMQ worker on the `audit` queue writing audit_logs rows from
 * events. It does not wait for Redis: the worker connects (and reconnects) by itself.
 */
export async function startAuditWorker(deps: WorkerDeps): Promise<Component> {
  const worker = createWorker(deps, 'audit', {
    'write-audit-log': (event) => writeAuditLog(deps.pool, event),
  });
  return {
    name: 'audit',
    async stop() {
      await worker.close();
    },
  };
}
