import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { PrivateServices } from './private-services.js';
import type { Fleet, ServiceProcess } from './service-processes.js';
import { pidOwningLocalPort } from '../test/support/socket-owner.js';
import { RELAY_LOCK_KEY } from '../workers/relay/leader-lock.js';

export interface FaultContext {
  services: PrivateServices;
  fleet: Fleet;
  /** A harness connection to the private PostgreSQL (reconnected by the caller). */
  query: (sql: string, values?: unknown[]) => Promise<pg.QueryResult>;
  /** Arms the SMTP sink: the next mail from an email worker kills that worker before the 250. */
  killNextEmailSender(): Promise<ServiceProcess>;
  /** When this fault killed a web process: requests reset within a moment of it are the kill's doing. */
  webKills: number[];
  /** Says what happened, once, in the run's output. */
  note(text: string): void;
}

export interface Fault {
  name: string;
  inject(context: FaultContext): Promise<void>;
}

/** The supervisor's part: a killed process comes back (a platform restarts it within a second or so). */
async function killAndRestart(context: FaultContext, target: ServiceProcess): Promise<void> {
  if (target.role === 'web') context.webKills.push(Date.now());
  await target.kill();
  await sleep(1_000);
  await target.start();
}

/** The relay process holding the leader lock, found through its lock session's client port. */
export async function findRelayLeader(context: FaultContext): Promise<ServiceProcess | undefined> {
  const { rows } = await context.query(
    `SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
    [RELAY_LOCK_KEY],
  );
  const relays = context.fleet.byRole('relay');
  for (const row of rows as { client_port: number }[]) {
    const pid = pidOwningLocalPort(row.client_port, relays.flatMap((relay) => (relay.pid ? [relay.pid] : [])));
    const owner = relays.find((relay) => relay.pid === pid);
    if (owner) return owner;
  }
  return undefined;
}

export const FAULTS: Record<string, Fault> = {
  'pg-restart': { name: 'pg-restart', inject: ({ services }) => services.postgres.restart() },
  'pg-stop-20s': {
    name: 'pg-stop-20s',
    async inject({ services }) {
      await services.postgres.stop();
      await sleep(20_000);
      await services.postgres.start();
    },
  },
  'redis-restart-empty': { name: 'redis-restart-empty', inject: ({ services }) => services.redis.restartEmpty() },
  'rabbit-restart': { name: 'rabbit-restart', inject: ({ services }) => services.rabbit.restartApp() },
  'rabbit-close-connections': { name: 'rabbit-close-connections', inject: ({ services }) => services.rabbit.closeAllConnections() },
  'kill-web': {
    name: 'kill-web',
    inject: (context) => killAndRestart(context, context.fleet.byRole('web')[Math.floor(Math.random() * 2)]!),
  },
  'kill-relay-leader': {
    name: 'kill-relay-leader',
    async inject(context) {
      let leader: ServiceProcess | undefined;
      for (let tries = 0; tries < 40 && !leader; tries += 1) {
        leader = await findRelayLeader(context).catch(() => undefined);
        if (!leader) await sleep(250);
      }
      if (!leader) throw new Error('no relay holds the leader lock');
      context.note(`leader was ${leader.name}`);
      await killAndRestart(context, leader);
    },
  },
  'kill-email-mid-batch': {
    name: 'kill-email-mid-batch',
    async inject(context) {
      const victim = await context.killNextEmailSender();
      context.note(`killed ${victim.name} while the SMTP server held its mail`);
      await sleep(1_000);
      await victim.start();
    },
  },
  'rolling-restart': {
    name: 'rolling-restart',
    async inject({ fleet, note }) {
      const unclean: string[] = [];
      for (const process of fleet.processes) {
        if (!(await process.terminate())) unclean.push(process.name);
        await process.start();
      }
      if (unclean.length > 0) note(`not a clean exit on SIGTERM: ${unclean.join(', ')}`);
    },
  },
};

/**
 * The faults of a full run, in order: each comes after the service recovered from the
 * last. The rolling restart comes early, so the new processes live through the rest and
 * their RSS is compared over most of the run.
 */
export const FULL_PROFILE = [
  'pg-restart',
  'rolling-restart',
  'redis-restart-empty',
  'rabbit-restart',
  'kill-web',
  'kill-relay-leader',
  'rabbit-close-connections',
  'kill-email-mid-batch',
  'pg-stop-20s',
];
/** One fault of each kind, for the run inside `make test`. */
export const SHORT_PROFILE = ['pg-restart', 'redis-restart-empty', 'rabbit-restart', 'kill-web', 'kill-relay-leader', 'kill-email-mid-batch', 'rolling-restart'];
