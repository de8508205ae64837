import type { Logger } from '../logger.js';
import type { PoolClient } from './pool.js';

/** Any fixed 64-bit number works; this one is "user-services migrations" to every process. */
const MIGRATION_LOCK_KEY = '7215011634110211500';

const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 1_000;
const REMIND_EVERY_MS = 30_000;

interface LockHolder {
  pid: number;
  application_name: string;
  state: string | null;
  query: string | null;
}

/** Who holds the migration lock in this database, for the log line of a process waiting on it. */
async function findHolder(client: PoolClient): Promise<LockHolder | undefined> {
  const { rows } = await client.query<LockHolder>(
    `SELECT a.pid, a.application_name, a.state, left(a.query, 200) AS query
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::int8 << 32) | l.objid::int8) = $1::int8`,
    [MIGRATION_LOCK_KEY],
  );
  return rows[0];
}

/**
 * Takes the session-level migration lock on `client`, polling `pg_try_advisory_lock`
 * rather than blocking in `pg_advisory_lock`. A backend blocked inside a statement has a
 * snapshot open all the while, and `CREATE INDEX CONCURRENTLY` waits for every older
 * snapshot to go: the holder's index build would wait for the waiter, which waits for the
 * holder. Between polls this session is idle, outside any transaction. The delay grows to
 * at most a second, jittered so that starters spread out; a line says whom it waits for.
 */
export async function acquireMigrationLock(client: PoolClient, log: Logger): Promise<void> {
  const started = Date.now();
  let delay = FIRST_DELAY_MS;
  let remindAt = 0;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY]);
    if (rows[0]?.locked) {
      if (remindAt > 0) log.info({ waitedMs: Date.now() - started }, 'took the migration lock');
      return;
    }
    if (Date.now() >= remindAt) {
      const holder = await findHolder(client);
      log.info(
        { waitedMs: Date.now() - started, holder },
        'waiting for another process to finish migrating (the migration lock is taken); polling',
      );
      remindAt = Date.now() + REMIND_EVERY_MS;
    }
    await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}

/** Gives the lock back; resolves false when the session could not say so (it must then be closed). */
export async function releaseMigrationLock(client: PoolClient): Promise<boolean> {
  try {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    return true;
  } catch {
    return false;
  }
}
