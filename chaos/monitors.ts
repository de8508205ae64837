import pg from 'pg';
import type { Fleet } from './service-processes.js';
import { RELAY_LOCK_KEY } from '../workers/relay/leader-lock.js';

/** A query on the private PostgreSQL that reconnects after the faults; fails fast while it is down. */
export function harnessPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 2_000, idleTimeoutMillis: 5_000 });
  pool.on('error', () => undefined);
  return pool;
}

/** Polls the relay leader lock: the most holders seen at once (must never exceed 1). */
export function watchLeaders(pool: pg.Pool, everyMs = 250): { stop(): number } {
  let most = 0;
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    pool
      .query<{ holders: string }>(
        `SELECT count(*) AS holders FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
           AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
        [RELAY_LOCK_KEY],
      )
      .then((result) => (most = Math.max(most, Number(result.rows[0]!.holders))), () => undefined)
      .finally(() => (polling = false));
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return most;
    },
  };
}

export interface RssGrowth {
  name: string;
  firstKiB: number;
  lastKiB: number;
  seconds: number;
}

/**
 * Samples every process's RSS every few seconds, per pid (a restarted process is a new
 * life). A life's first sample is taken once it has run `warmupMs`, so start-up
 * allocation does not count as growth.
 */
export function watchRss(fleet: Fleet, everyMs = 5_000, warmupMs = 15_000): { stop(): RssGrowth[] } {
  const lives = new Map<number, { name: string; born: number; first?: number; firstAt?: number; last?: number; lastAt?: number }>();
  const sample = () => {
    const now = Date.now();
    for (const process of fleet.processes) {
      const pid = process.pid;
      if (pid === undefined) continue;
      let life = lives.get(pid);
      if (!life) lives.set(pid, (life = { name: process.name, born: now }));
      if (now - life.born < warmupMs) continue;
      const rss = process.rssKiB();
      if (rss === undefined) continue;
      if (life.first === undefined) {
        life.first = rss;
        life.firstAt = now;
      }
      life.last = rss;
      life.lastAt = now;
    }
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return [...lives.values()]
        .filter((life) => life.first !== undefined && life.lastAt! > life.firstAt!)
        .map((life) => ({ name: life.name, firstKiB: life.first!, lastKiB: life.last!, seconds: Math.round((life.lastAt! - life.firstAt!) / 1000) }));
    },
  };
}
