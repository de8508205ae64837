import fs from 'node:fs';

/**
 * Where the machine's CPU went while a load ran, per operation: the process under test,
 * the services it talks to, the load generator (this process), and everything else
 * (the kernel's own threads, interrupts, processes that exited meanwhile). On this
 * 2-core machine the generator and the services share the cores with the API, so a
 * ratio against a baseline that needs none of them has a ceiling: this shows it.
 */
export interface CpuAccount {
  operations: number;
  /** Busy cores, machine-wide, over the load (user + nice + system + irq + softirq + steal). */
  machine_busy_cores: number;
  /** Milliseconds of CPU per operation, by who used it; `machine` is their sum and more. */
  ms_per_operation: Record<CpuUser | 'machine', number>;
}

export type CpuUser = 'api' | 'postgresql' | 'redis' | 'rabbitmq' | 'generator' | 'other';

export const TICKS_PER_SECOND = 100; // USER_HZ

/**
 * CPU ticks (user + system) of every process now, by pid, with its start time (a pid
 * taken over by a new process starts again from zero) and its command name.
 */
function processTicks(): Map<number, { started: string; comm: string; ticks: number }> {
  const ticks = new Map<number, { started: string; comm: string; ticks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After "pid (comm) ": state is field 3, utime 14, stime 15, starttime 22.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(Number(entry), {
        started: fields[19]!,
        comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        ticks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks;
}

/** Busy ticks of the whole machine (all but idle and iowait), from /proc/stat's first line. */
export function machineBusyTicks(): number {
  const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number) as number[];
  return user! + nice! + system! + irq! + softirq! + steal!;
}

function userOf(pid: number, comm: string, apiPid: number | undefined): CpuUser {
  if (pid === apiPid) return 'api';
  if (pid === process.pid) return 'generator';
  if (comm === 'postgres') return 'postgresql';
  if (comm === 'redis-server') return 'redis';
  if (comm === 'beam.smp') return 'rabbitmq';
  return 'other';
}

/**
 * Runs `work` and accounts the machine's CPU meanwhile; `operations(result)` says how
 * many operations the work completed. `apiPid` is the process under test (undefined when
 * the work is a baseline with none).
 */
export async function withCpuAccount<T>(apiPid: number | undefined, work: () => Promise<T>, operations: (result: T) => number): Promise<{ result: T; cpu: CpuAccount }> {
  const before = processTicks();
  const machineBefore = machineBusyTicks();
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  const machineAfter = machineBusyTicks();
  const after = processTicks();

  const count = Math.max(1, operations(result));
  const used: Record<CpuUser, number> = { api: 0, postgresql: 0, redis: 0, rabbitmq: 0, generator: 0, other: 0 };
  let attributed = 0;
  for (const [pid, now] of after) {
    const then = before.get(pid);
    // A process that started meanwhile counts from zero; one that ended is left in `other`.
    // (Not the name: a kernel worker's changes with the queue it serves.)
    const delta = now.ticks - (then && then.started === now.started ? then.ticks : 0);
    if (delta <= 0) continue;
    used[userOf(pid, now.comm, apiPid)] += delta;
    attributed += delta;
  }
  const busy = machineAfter - machineBefore;
  // Kernel work outside any process (interrupts, softirqs) and processes that ended are "other".
  used.other += Math.max(0, busy - attributed);
  const ms = (ticks: number) => (1000 * ticks) / TICKS_PER_SECOND / count;
  const perOperation = Object.fromEntries(Object.entries(used).map(([user, ticks]) => [user, ms(ticks)])) as Record<CpuUser, number>;
  return {
    result,
    cpu: {
      operations: count,
      machine_busy_cores: busy / TICKS_PER_SECOND / seconds,
      ms_per_operation: { ...perOperation, machine: ms(Math.max(busy, attributed)) },
    },
  };
}

/** One line: "machine 38.1 ms/login (1.97 cores busy): api 33.5, postgresql 1.8, ...". */
export function formatCpuAccount(cpu: CpuAccount, unit: string): string {
  const { machine, ...users } = cpu.ms_per_operation;
  const parts = Object.entries(users)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([user, ms]) => `${user} ${ms.toFixed(ms < 1 ? 3 : 2)}`);
  return `${machine.toFixed(machine < 1 ? 3 : 2)} ms of CPU per ${unit} (${cpu.machine_busy_cores.toFixed(2)} cores busy): ${parts.join(', ')}`;
}
