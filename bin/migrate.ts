import path from 'node:path';
import { loadConfig } from '../shared/config/config.js';
import { loadDotenv } from '../shared/config/dotenv.js';
import { ensureDatabase } from '../shared/db/ensure-database.js';
import { migrate } from '../shared/db/migrator.js';
import { createPool } from '../shared/db/pool.js';
import { waitForDatabase } from '../shared/db/wait-for-database.js';
import { createLogger } from '../shared/logger.js';
import { projectRoot } from '../shared/project-root.js';

/**
 * `npm run migrate`: applies pending migrations. With `--setup` (what `make run` uses)
 * it first creates the configured role and database when a local superuser can.
 */
const log = createLogger(process.env.LOG_LEVEL ?? 'info', 'migrate');
try {
  loadDotenv();
  const config = loadConfig();
  if (process.argv.includes('--setup')) await ensureDatabase(config.database.url, log);
  const pool = createPool({ ...config.database, poolMax: 2 });
  try {
    await waitForDatabase(pool, config.database.url, config.database.connectTimeoutMs, log);
    await migrate(pool, path.join(projectRoot(), 'migrations'), log);
  } finally {
    await pool.end();
  }
} catch (error) {
  log.fatal((error as Error).message);
  process.exitCode = 1;
}
