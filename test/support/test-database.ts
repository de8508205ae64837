import crypto from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../../shared/db/migrator.js';
import { createPool } from '../../shared/db/pool.js';
import { createLogger } from '../../shared/logger.js';
import { projectRoot } from '../../shared/project-root.js';

/** A superuser connection that may create and drop databases (trust auth on this machine). */
export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrlFor(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a random name; returns its name. */
export async function createEmptyDatabase(prefix = 'us_test'): Promise<string> {
  const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return name;
}

/** Creates a database for this run and applies every migration to it. */
export async function createMigratedDatabase(): Promise<string> {
  const name = await createEmptyDatabase();
  const pool = createPool({ url: databaseUrlFor(name), poolMax: 1, connectTimeoutMs: 5_000 });
  try {
    await migrate(pool, path.join(projectRoot(), 'migrations'), createLogger('silent'));
  } finally {
    await pool.end();
  }
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
}
