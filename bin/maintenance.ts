import { loadConfig } from '../shared/config/config.js';
import { loadDotenv } from '../shared/config/dotenv.js';
import { createPool } from '../shared/db/pool.js';
import { waitForDatabase } from '../shared/db/wait-for-database.js';
import { createLogger } from '../shared/logger.js';
import { runMaintenance } from '../workers/maintenance/run-maintenance.js';

/**
 * `npm run maintenance`: runs the retention purge once, now, outside pg-boss (after a
 * restore, before a backup, or from an external scheduler). Safe beside the scheduled
 * purge: both delete in small batches and skip rows the other holds.
 */
const log = createLogger(process.env.LOG_LEVEL ?? 'info', 'maintenance');
try {
  loadDotenv();
  const config = loadConfig();
  const pool = createPool({ ...config.database, poolMax: 2 });
  try {
    await waitForDatabase(pool, config.database.url, config.database.connectTimeoutMs, log);
    const report = await runMaintenance(pool, { retention: config.retention, batches: config.maintenance.batches }, log);
    if (report.failed.length > 0) process.exitCode = 1;
  } finally {
    await pool.end();
  }
} catch (error) {
  log.fatal((error as Error).message);
  process.exitCode = 1;
}
