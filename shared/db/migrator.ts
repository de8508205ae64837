import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DatabaseError } from 'pg';
import type { Logger } from '../logger.js';
import { acquireMigrationLock, releaseMigrationLock } from './migration-lock.js';
import type { Pool, PoolClient } from './pool.js';
import { SqlSplitError, splitSqlStatements } from './split-sql-statements.js';

export class MigrationError extends Error {}

interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
  /** False for a file whose first line is NO_TRANSACTION_MARKER. */
  transactional: boolean;
}

/** The first line that runs a file outside a transaction, one statement at a time. */
export const NO_TRANSACTION_MARKER = '-- migrate: no-transaction';
const DIRECTIVE = /^--\s*migrate:\s*(.*?)\s*$/i;

function readMigrations(dir: string): MigrationFile[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d+_[\w-]+\.sql$/.test(file))
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name), 'utf8');
      const directive = DIRECTIVE.exec(sql.split('\n', 1)[0]!.trim())?.[1];
      // A misspelt marker must not quietly leave the file inside a transaction.
      if (directive !== undefined && directive.toLowerCase() !== 'no-transaction') {
        throw new MigrationError(`${name}: unknown directive "-- migrate: ${directive}" on its first line; the one there is, is "${NO_TRANSACTION_MARKER}"`);
      }
      const checksum = crypto.createHash('sha256').update(sql).digest('hex');
      return { name, sql, checksum, transactional: directive === undefined };
    });
}

function statementsOf(file: MigrationFile): string[] {
  try {
    return splitSqlStatements(file.sql);
  } catch (error) {
    if (error instanceof SqlSplitError) throw new MigrationError(`refusing to migrate: ${file.name}: ${error.message}`);
    throw error;
  }
}

/**
 * Applies pending migrations in name order under an advisory lock, so concurrent starters
 * apply them once. Each file runs in its own transaction, except one marked
 * NO_TRANSACTION_MARKER (for `CREATE INDEX CONCURRENTLY` and the like), whose statements
 * run one by one outside any; either kind is recorded only once all of it succeeded.
 * Refuses to run when an applied file was changed or removed: migrations are append-only.
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
    // Split every pending file before applying any, so a file that cannot be split stops the run at its start.
    const plans = pending.map((file) => ({ file, statements: file.transactional ? [] : statementsOf(file) }));
    for (const { file, statements } of plans) {
      if (file.transactional) await applyInTransaction(client, file, log);
      else await applyStatementByStatement(client, file, statements, log);
    }
    log.info({ applied: pending.length, total: files.length }, pending.length ? 'migrations applied' : 'database schema is up to date');
    return pending.map((file) => file.name);
  } finally {
    // A session that cannot give the lock back is closed instead, which ends the lock too.
    client.release(!(await releaseMigrationLock(client)));
  }
}

async function record(client: PoolClient, file: MigrationFile): Promise<void> {
  await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
}

async function applyInTransaction(client: PoolClient, file: MigrationFile, log: Logger): Promise<void> {
  log.info({ migration: file.name }, 'applying migration');
  try {
    await client.query('BEGIN');
    await client.query(file.sql);
    await record(client, file);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const hint = (error as DatabaseError).code === '25001' ? `; to run it outside a transaction, make "${NO_TRANSACTION_MARKER}" its first line` : '';
    throw new MigrationError(`migration ${file.name} failed: ${(error as Error).message}${hint}`);
  }
}

/**
 * Indexes PostgreSQL marks invalid: left by a failed `CREATE INDEX CONCURRENTLY` (or one
 * still being built elsewhere). Partitioned indexes (relkind 'I') are left out: `CREATE
 * INDEX ON ONLY` makes them invalid on purpose until every partition has its own.
 */
async function findInvalidIndexes(client: PoolClient): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND c.relkind = 'i' AND n.nspname NOT IN ('pg_catalog', 'pg_toast')
      ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

const dropAdvice = (names: string[]): string => names.map((name) => `DROP INDEX CONCURRENTLY IF EXISTS ${name};`).join(' ');

/**
 * Sends each statement as a query of its own: several statements in one query would run
 * in an implicit transaction, which `CREATE INDEX CONCURRENTLY` refuses. Nothing is
 * rolled back on failure, so the error says what already took effect and what was left.
 */
async function applyStatementByStatement(client: PoolClient, file: MigrationFile, statements: string[], log: Logger): Promise<void> {
  log.info({ migration: file.name, statements: statements.length }, 'applying migration outside a transaction');
  // A `CREATE INDEX CONCURRENTLY IF NOT EXISTS` would skip a leftover invalid index and be recorded as done.
  const leftovers = await findInvalidIndexes(client);
  if (leftovers.length > 0) {
    throw new MigrationError(
      `refusing to apply ${file.name}: the database has invalid indexes (${leftovers.join(', ')}), left by a failed CONCURRENTLY build or one still running elsewhere; when none is running, drop them: ${dropAdvice(leftovers)}`,
    );
  }
  for (const [index, statement] of statements.entries()) {
    const where = `statement ${index + 1} of ${statements.length}`;
    // Only outside a transaction does CONCURRENTLY avoid holding up every other writer; a statement of the file could have opened one.
    if (client.getTransactionStatus() !== 'I') {
      throw new MigrationError(`migration ${file.name}: a transaction is open before ${where}; a no-transaction file must not open one`);
    }
    const before = new Set(await findInvalidIndexes(client));
    try {
      await client.query(statement);
    } catch (error) {
      const done = index === 0 ? 'no earlier statement ran' : `${index === 1 ? 'statement 1' : `statements 1 to ${index}`} took effect and stays`;
      const left = await findInvalidIndexes(client).then(
        (names) => names.filter((name) => !before.has(name)),
        () => [],
      );
      const invalid = left.length === 0 ? '' : `; PostgreSQL left the INVALID index ${left.join(', ')}: drop it before running again: ${dropAdvice(left)}`;
      throw new MigrationError(
        `migration ${file.name} failed at ${where}: ${(error as Error).message}; statement: ${statement}; ${done}, and the file is not recorded${invalid}`,
      );
    }
  }
  await record(client, file);
}
