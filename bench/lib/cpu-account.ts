import fs from 'node:fs';
import { listenerOf } from '../../test/support/socket-owner.js';

/**
 * Where the machine's CPU went while a load ran, per operation: each process under test
 * by name (the web role, a worker, the all-in-one process), the services they talk to,
 * the load generator (this process), and everything else (the kernel's own threads,
 * interrupts, processes that exited meanwhile, other users of the machine). On this
 * 2-core machine the generator and the services share the cores with the API, so a
 * ratio against a baseline that needs none of them has a ceiling: this shows it.
 */
export interface CpuAccount {
  operations: number;
  /** Busy cores, machine-wide, over the load (user + nice + system + irq + softirq + steal). */
  machine_busy_cores: number;
  /** Seconds the account covered (the load, and the drain after it when there was one). */
  seconds: number;
  /**
   * Milliseconds of CPU per operation, by who used it: the named processes under test,
   * then SERVICE_USERS, `generator` and `other`; `machine` is their sum and more.
   */
  ms_per_operation: Record<string, number>;
}

/** The services, each found by the port it listens on (so another instance on the machine, say another helper's PostgreSQL, is `other`). */
export const SERVICE_PORTS = { postgresql: 5432, redis: 6379, rabbitmq: 5672 } as const;
export type Service = keyof typeof SERVICE_PORTS;
/** By command name, when a service's listening process cannot be found. */
const SERVICE_COMMANDS: Record<string, Service> = { postgres: 'postgresql', 'redis-server': 'redis', 'beam.smp': 'rabbitmq' };

export const TICKS_PER_SECOND = 100; // USER_HZ

interface ProcessTicks {
  started: string;
  comm: string;
  ppid: number;
  ticks: number;
}

/**
 * CPU ticks (user + system) of every process now, by pid, with its start time (a pid
 * taken over by a new process starts again from zero), command name and parent.
 */
function processTicks(): Map<number, ProcessTicks> {
  const ticks = new Map<number, ProcessTicks>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After "pid (comm) ": state is field 3, ppid 4, utime 14, stime 15, starttime 22.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(entry), {
        started: fields[19]!,
        comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks;
}

let serviceRoots: Map<number, Service> | undefined;
/** Each service's listening process, found once per run. */
function servicesByRoot(): Map<number, Service> {
  serviceRoots ??= new Map(
    Object.entries(SERVICE_PORTS).flatMap(([service, port]) => {
      const pid = listenerOf(port);
      return pid === undefined ? [] : [[pid, service as Service] as const];
    }),
  );
  return serviceRoots;
}

/** Busy ticks of the whole machine (all but idle and iowait), from /proc/stat's first line. */
export function machineBusyTicks(): number {
  const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number) as number[];
  return user! + nice! + system! + irq! + softirq! + steal!;
}

/** The database a PostgreSQL backend serves, from its process title ("postgres: 15/main: USER DATABASE HOST(PORT) STATE"); undefined for the server's own processes. */
function backendDatabase(pid: number): string | undefined {
  try {
    const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return /^postgres: [^:]+: \S+ (\S+) /.exec(title)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL's own processes (WAL writer, checkpointer, background writer, autovacuum
 * launcher) when the account names a database: they work for every database of the
 * shared server, so they are shown apart from the backends of the one under test.
 */
export const PG_SHARED = 'postgresql shared';

/**
 * Who a process counts as: a named process under test, a service (its listener or a
 * descendant of it), the generator, or other. When `database` is given, a PostgreSQL
 * backend of another database is another user's work on the shared server (other), and
 * the server's own processes are PG_SHARED.
 */
function userOf(pid: number, all: Map<number, ProcessTicks>, named: Map<number, string>, database: string | undefined): string {
  const name = named.get(pid);
  if (name) return name;
  if (pid === process.pid) return 'generator';
  const roots = servicesByRoot();
  for (let at: number | undefined = pid, depth = 0; at && depth < 8; at = all.get(at)?.ppid, depth++) {
    const service = roots.get(at);
    if (service === 'postgresql' && database !== undefined && at !== pid) {
      const served = backendDatabase(pid);
      if (served === undefined) return PG_SHARED;
      if (served !== database) return 'other';
    }
    if (service) return service;
  }
  // No listener found for that service at all: fall back on the command name.
  const byName = SERVICE_COMMANDS[all.get(pid)?.comm ?? ''];
  return byName && ![...roots.values()].includes(byName) ? byName : 'other';
}

export interface AccountOptions {
  /** Runs inside the account after the work, until what the work left behind is done (the workers' backlog), so that work is counted against the same operations. */
  settle?: () => Promise<void>;
  /** The database under test: PostgreSQL backends of other databases count as other. */
  database?: string;
}

/**
 * Runs `work` and accounts the machine's CPU meanwhile; `operations(result)` says how
 * many operations the work completed. `processes` names the processes under test
 * (none when the work is a baseline).
 */
export async function withCpuAccount<T>(
  processes: Record<string, number>,
  work: () => Promise<T>,
  operations: (result: T) => number,
  { settle, database }: AccountOptions = {},
): Promise<{ result: T; cpu: CpuAccount }> {
  const named = new Map(Object.entries(processes).map(([name, pid]) => [pid, name]));
  servicesByRoot();
  const before = processTicks();
  const machineBefore = machineBusyTicks();
  const started = performance.now();
  const result = await work();
  await settle?.();
  const seconds = (performance.now() - started) / 1000;
  const machineAfter = machineBusyTicks();
  const after = processTicks();
  // Titles are read now: a backend that ended meanwhile is other anyway.

  const count = Math.max(1, operations(result));
  const used: Record<string, number> = Object.fromEntries(
    [...Object.keys(processes), ...Object.keys(SERVICE_PORTS), ...(database ? [PG_SHARED] : []), 'generator', 'other'].map((user) => [user, 0]),
  );
  let attributed = 0;
  for (const [pid, now] of after) {
    const then = before.get(pid);
    // A process that started meanwhile counts from zero; one that ended is left in `other`.
    // (Not the name: a kernel worker's changes with the queue it serves.)
    const delta = now.ticks - (then && then.started === now.started ? then.ticks : 0);
    if (delta <= 0) continue;
    used[userOf(pid, after, named, database)]! += delta;
    attributed += delta;
  }
  const busy = machineAfter - machineBefore;
  // Kernel work outside any process (interrupts, softirqs) and processes that ended are "other".
  used.other! += Math.max(0, busy - attributed);
  const ms = (ticks: number) => (1000 * ticks) / TICKS_PER_SECOND / count;
  const perOperation = Object.fromEntries(Object.entries(used).map(([user, ticks]) => [user, ms(ticks)]));
  return {
    result,
    cpu: {
      operations: count,
      machine_busy_cores: busy / TICKS_PER_SECOND / seconds,
      seconds,
      ms_per_operation: { ...perOperation, machine: ms(Math.max(busy, attributed)) },
    },
  };
}

/** The CPU of the named processes under test, per operation, summed. */
export function processesMs(cpu: CpuAccount, names: string[]): number {
  return names.reduce((sum, name) => sum + (cpu.ms_per_operation[name] ?? 0), 0);
}

/** One line: "38.1 ms of CPU per login (1.97 cores busy): web 33.5, postgresql 1.8, ...". */
export function formatCpuAccount(cpu: CpuAccount, unit: string): string {
  const { machine, ...users } = cpu.ms_per_operation;
  const parts = Object.entries(users)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([user, ms]) => `${user} ${ms.toFixed(ms < 1 ? 3 : 2)}`);
  return `${machine!.toFixed(machine! < 1 ? 3 : 2)} ms of CPU per ${unit} (${cpu.machine_busy_cores.toFixed(2)} cores busy): ${parts.join(', ')}`;
}
