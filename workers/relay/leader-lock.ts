import pg from 'pg';
import type { Logger } from '../../shared/logger.js';

/** Any fixed 64-bit number: "the outbox relay leader" to every relay on the database. */
export const RELAY_LOCK_KEY = '7305787266432573793';

export interface LeaderLockOptions {
  url: string;
  /** Mean delay between a standby's attempts (jittered by a third either way). */
  retryMs: number;
  /** A held lock whose session stays idle this long is ended by PostgreSQL itself. */
  silenceTimeoutMs: number;
  log: Logger;
}

/** The held lock. Its session is the fence: a query run on `client` runs only while the lock is held. */
export interface Leadership {
  client: pg.Client;
  /** Resolves, with the reason, when the lock is gone (released, or its session died). */
  lost: Promise<string>;
  isHeld(): boolean;
  release(): Promise<void>;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

async function openSession(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'user-services-relay', keepAlive: true, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Holds the lock on its session: a heartbeat keeps the session busy, and
 * idle_session_timeout makes PostgreSQL end it (freeing the lock) once the heartbeat
 * stops, so a frozen holder (SIGSTOP, a stuck event loop) loses the lock as surely as a
 * dead one, whose closed socket frees it at once.
 */
async function hold(client: pg.Client, silenceTimeoutMs: number): Promise<Leadership> {
  // The claims run on this session too: short, bounded, and a lease lost to a crash only
  // means a row is claimed again, so they need not wait for the WAL flush.
  await client.query(
    `SELECT set_config('idle_session_timeout', $1, false), set_config('statement_timeout', '30s', false),
            set_config('synchronous_commit', 'off', false)`,
    [`${silenceTimeoutMs}ms`],
  );
  let held = true;
  let resolveLost: (reason: string) => void = () => undefined;
  const lost = new Promise<string>((resolve) => (resolveLost = resolve));
  const heartbeat = setInterval(() => void client.query('SELECT 1').catch((error: Error) => drop(error.message)), Math.max(100, Math.floor(silenceTimeoutMs / 5)));
  heartbeat.unref();
  function drop(reason: string): boolean {
    if (!held) return false;
    held = false;
    clearInterval(heartbeat);
    resolveLost(reason);
    return true;
  }
  client.on('error', (error: Error) => {
    if (drop(error.message)) void client.end().catch(() => undefined);
  });
  client.on('end', () => drop('lock session ended'));
  return {
    client,
    lost,
    isHeld: () => held,
    async release() {
      if (!drop('released')) return;
      await client.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK_KEY]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/**
 * Waits until this process holds the relay's leader lock: a session-level advisory lock
 * on a connection of its own, tried every ~retryMs. Returns undefined when `signal`
 * aborts first. The lock cannot outlive its holder: it dies with its session.
 */
export async function acquireLeadership(options: LeaderLockOptions, signal: AbortSignal): Promise<Leadership | undefined> {
  const { url, retryMs, silenceTimeoutMs, log } = options;
  let client: pg.Client | undefined;
  let unreachable = false;
  let waitingLogged = false;
  while (!signal.aborted) {
    try {
      client ??= await openSession(url);
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RELAY_LOCK_KEY]);
      if (rows[0]?.locked) return await hold(client, silenceTimeoutMs);
      if (!waitingLogged) log.info('another relay holds the leader lock; standing by');
      waitingLogged = true;
      unreachable = false;
    } catch (error) {
      if (!unreachable) log.warn({ reason: (error as Error).message }, 'relay cannot take its leader lock (PostgreSQL unreachable?); retrying');
      unreachable = true;
      await client?.end().catch(() => undefined);
      client = undefined;
    }
    await sleep(retryMs * (2 / 3 + Math.random() * 2 / 3), signal);
  }
  await client?.end().catch(() => undefined);
  return undefined;
}
