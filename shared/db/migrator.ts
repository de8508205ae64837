import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { acquireMigrationLock, releaseMigrationLock } from './migration-lock.js';
import type { Pool } from './pool.js';

export class MigrationError extends Error {}

interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

function readMigrations(dir: string): MigrationFile[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d+_[\w-]+\.sql$/.test(file))
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name), 'utf8');
      return { name, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Applies pending migrations in name order, each in its own transaction, under an
 * advisory lock so concurrent starters apply them once. Refuses to run when an
 * applied file was changed or removed: migrations are append-only.
 */
export async function migrate(pool: Pool, dir: string, log: Logger): Promise<string[]> {
  const files = readMigrations(dir);
  const client = await pool.connect();
  try {
    await acquireMigrationLock(client, log);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name       text PRIMARY KEY,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations');
    const applied = new Map(rows.map((row) => [row.name, row.checksum]));

    const problems = [
      ...files
        .filter((file) => applied.has(file.name) && applied.get(file.name) !== file.checksum)
        .map((file) => `${file.name} was changed after it was applied`),
      ...[...applied.keys()]
        .filter((name) => !files.some((file) => file.name === name))
        .map((name) => `${name} was applied but its file is missing`),
    ];
    if (problems.length > 0) {
      throw new MigrationError(`refusing to migrate: ${problems.join('; ')}. Add a new migration instead of editing an applied one.`);
    }

    const pending = files.filter((file) => !applied.has(file.name));
    for (const file of pending) {
      log.info({ migration: file.name }, 'applying migration');
      try {
        await client.query('BEGIN');
        await client.query(file.sql);
        await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new MigrationError(`migration ${file.name} failed: ${(error as Error).message}`);
      }
    }
    log.info({ applied: pending.length, total: files.length }, pending.length ? 'migrations applied' : 'database schema is up to date');
    return pending.map((file) => file.name);
  } finally {
    // A session that cannot give the lock back is closed instead, which ends the lock too.
    client.release(!(await releaseMigrationLock(client)));
  }
}
