import pg from 'pg';
import type { Logger } from '../logger.js';
import { redactUrl } from './pool.js';

/** Where a local superuser may be reached when the configured role or database is missing. */
const ADMIN_URLS = ['postgres://postgres@localhost/postgres?host=/var/run/postgresql', 'postgres://postgres@127.0.0.1:5432/postgres'];

const MISSING_ROLE = new Set(['28000', '28P01']);
const MISSING_DATABASE = '3D000';

async function tryConnect(url: string): Promise<{ client?: pg.Client; code?: string; message?: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return { client };
  } catch (error) {
    await client.end().catch(() => undefined);
    const { code, message } = error as { code?: string; message: string };
    return { code, message };
  }
}

function setupSql(user: string, password: string, database: string): string[] {
  const role = pg.escapeIdentifier(user);
  return [
    `CREATE ROLE ${role} LOGIN PASSWORD ${pg.escapeLiteral(password)};`,
    `CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${role};`,
  ];
}

/**
 * For `make run` on a fresh machine: when the configured role or database does not
 * exist and a local superuser connection works (trust auth), creates them; otherwise
 * says exactly what to run. Production deploys create these by their own means.
 */
export async function ensureDatabase(databaseUrl: string, log: Logger, adminUrls = ADMIN_URLS): Promise<void> {
  const attempt = await tryConnect(databaseUrl);
  if (attempt.client) {
    await attempt.client.end();
    return;
  }
  if (!attempt.code || (!MISSING_ROLE.has(attempt.code) && attempt.code !== MISSING_DATABASE)) {
    throw new Error(`cannot connect to PostgreSQL at ${redactUrl(databaseUrl)}: ${attempt.message}`);
  }
  const url = new URL(databaseUrl);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.slice(1));

  for (const adminUrl of adminUrls) {
    const { client } = await tryConnect(adminUrl);
    if (!client) continue;
    try {
      const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
      if (role.rowCount === 0) {
        await client.query(setupSql(user, password, database)[0]!);
        log.info({ role: user }, 'created database role');
      }
      const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (db.rowCount === 0) {
        await client.query(setupSql(user, password, database)[1]!);
        log.info({ database }, 'created database');
      }
      return;
    } finally {
      await client.end();
    }
  }
  throw new Error(
    `PostgreSQL at ${redactUrl(databaseUrl)} refused the connection (${attempt.message}) and no local superuser ` +
      `connection was available to fix it. As a PostgreSQL superuser, run:\n  ${setupSql(user, '<password>', database).join('\n  ')}\n` +
      'or set DATABASE_URL to an existing database.',
  );
}
