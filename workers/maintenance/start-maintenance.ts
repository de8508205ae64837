import PgBoss from 'pg-boss';
import type { Pool } from '../../shared/db/pool.js';
import type { Component } from '../../shared/process/boot.js';
import type { Services } from '../../shared/services.js';
import { scheduleKeyRotation, workKeyRotation } from './key-rotation.js';
import { runMaintenance, type MaintenanceReport } from './run-maintenance.js';

/** The pg-boss queue, and schedule, of the retention purge. */
export const MAINTENANCE_QUEUE = 'maintenance-purge';

/** Any fixed 64-bit number: "user-services maintenance start-up" to every process. */
const STARTUP_LOCK_KEY = '7215011634110211501';

async function withStartupLock(pool: Pool, fn: () => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [STARTUP_LOCK_KEY]);
    await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [STARTUP_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}

/** pg-boss knobs that tests turn down; production keeps pg-boss's defaults. */
export interface MaintenanceOptions {
  /** pg-boss's schema; `pgboss` unless a test wants its own. */
  schema?: string;
  cronMonitorIntervalSeconds?: number;
  cronWorkerIntervalSeconds?: number;
  pollingIntervalSeconds?: number;
}

/**
 * The maintenance role: pg-boss 10 in its own `pgboss` schema on DATABASE_URL runs the
 * retention purge on MAINTENANCE_CRON, and the signing-key rotation check hourly
 * (key-rotation.ts), once per cluster, however many maintenance workers run. pg-boss
 * lets one instance per cron tick enqueue the schedule's job (deduplicated per minute),
 * and the `stately` queue policy keeps at most one purge queued and one running, so
 * ticks that pile up during a long purge collapse into one.
 */
export async function startMaintenance(
  deps: Pick<Services, 'config' | 'log' | 'pool'>,
  options: MaintenanceOptions = {},
): Promise<Component> {
  const { config, pool } = deps;
  const log = deps.log.child({ role: 'maintenance' });
  const { pollingIntervalSeconds = 2, schema = 'pgboss', ...timing } = options;
  const boss = new PgBoss({
    connectionString: config.database.url,
    schema,
    max: 3,
    application_name: 'user-services-maintenance',
    ...timing,
  });
  boss.on('error', (error) => log.warn({ reason: error.message }, 'pg-boss error'));

  try {
    // Set-up under a cluster-wide lock: pg-boss creates a queue's partition with DDL that
    // deadlocks when two instances create the same queue at once.
    await withStartupLock(pool, async () => {
      await boss.start();
      // pg-boss 10: a schedule needs its queue to exist first.
      await boss.createQueue(MAINTENANCE_QUEUE, {
        name: MAINTENANCE_QUEUE,
        policy: 'stately',
        retryLimit: 2,
        retryDelay: 60,
        retryBackoff: true,
        expireInSeconds: 3_600,
      });
      await boss.schedule(MAINTENANCE_QUEUE, config.maintenance.cron, {}, { tz: 'UTC' });
      await scheduleKeyRotation(boss);
    });
    await workKeyRotation(boss, { config, pool, log }, pollingIntervalSeconds);
    await boss.work(MAINTENANCE_QUEUE, { batchSize: 1, pollingIntervalSeconds }, async (jobs): Promise<MaintenanceReport[]> => {
      const reports: MaintenanceReport[] = [];
      for (const job of jobs) {
        log.info({ job_id: job.id }, 'maintenance purge starting');
        const report = await runMaintenance(pool, { retention: config.retention, batches: config.maintenance.batches }, log);
        if (report.failed.length > 0) throw new Error(`maintenance purge failed for ${report.failed.join(', ')}`);
        reports.push(report);
      }
      return reports;
    });
  } catch (error) {
    await boss.stop({ graceful: false }).catch(() => undefined);
    throw error;
  }
  log.info({ cron: config.maintenance.cron, queue: MAINTENANCE_QUEUE, schema }, 'maintenance scheduled');

  return {
    name: 'maintenance',
    async stop() {
      // Let a running purge finish its batch loop within half the shutdown budget.
      await boss.stop({ graceful: true, wait: true, timeout: Math.max(1_000, Math.floor(config.shutdownTimeoutMs / 2)) });
    },
  };
}
