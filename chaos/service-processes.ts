import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readMemory, tail } from '../bench/lib/processes.js';
import { projectRoot } from '../shared/project-root.js';
import { uniquePort } from './unique-port.js';

const ROOT = projectRoot();
const THREADPOOL_PRELOAD = path.join(ROOT, 'bin/size-threadpool.cjs');
export const WORKER_ROLES = ['relay', 'email', 'audit', 'anomaly', 'maintenance'] as const;
export type Role = 'web' | (typeof WORKER_ROLES)[number];

/**
 * One process as a Procfile line runs it (dist/api/main.js or dist/workers/main.js with
 * WORKER_QUEUES), in a process group of its own so cleanup ends whatever it spawned.
 * It can be killed and started again under the same name, ports and log file.
 */
export class ServiceProcess {
  child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly role: Role,
    readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.running() ? this.child!.pid : undefined;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get port(): number {
    return Number(this.env.PORT);
  }

  /** Starts the process and waits until it serves: GET /health for web, "worker role started" for a worker. */
  async start(timeoutMs = 60_000): Promise<void> {
    const script = this.role === 'web' ? 'dist/api/main.js' : 'dist/workers/main.js';
    const out = fs.openSync(this.logFile, 'a');
    const offset = fs.fstatSync(out).size;
    const child = spawn(process.execPath, ['--require', THREADPOOL_PRELOAD, path.join(ROOT, script)], {
      cwd: path.dirname(this.logFile),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? ROOT, ...this.env },
      stdio: ['ignore', out, out],
      detached: true,
    });
    fs.closeSync(out);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (!(await this.serving(offset))) {
      if (!this.running()) throw new Error(`${this.name} exited at start; last lines of ${this.logFile}:\n${tail(this.logFile)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not start within ${timeoutMs} ms; last lines:\n${tail(this.logFile)}`);
      await sleep(200);
    }
  }

  private async serving(offset: number): Promise<boolean> {
    if (this.role === 'web') {
      return fetch(`http://127.0.0.1:${this.port}/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    }
    const text = fs.readFileSync(this.logFile, 'utf8').slice(offset);
    return text.includes('worker role started');
  }

  /** kill -9, as the OOM killer does; resolves once it is gone. */
  async kill(): Promise<void> {
    if (!this.running()) return;
    this.signalGroup('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for the graceful exit (SIGKILL after `graceMs`); returns whether it exited by itself. */
  async terminate(graceMs = 30_000): Promise<boolean> {
    if (!this.running()) return true;
    this.child!.kill('SIGTERM');
    let graceful = true;
    const timer = setTimeout(() => {
      graceful = false;
      this.signalGroup('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
    return graceful && this.child!.exitCode === 0;
  }

  /** Cleanup: SIGKILL to the whole group, whatever state it is in. */
  forceStop(): void {
    if (this.child?.pid) this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child!.pid!, signal);
    } catch {
      // Already gone.
    }
  }

  rssKiB(): number | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      return readMemory(pid).rssKiB;
    } catch {
      return undefined;
    }
  }
}

export interface Fleet {
  processes: ServiceProcess[];
  byRole(role: Role): ServiceProcess[];
  startAll(): Promise<void>;
  stopAll(): Promise<void>;
  forceStopAll(): void;
}

/**
 * The Procfile at small scale: `perRole` processes of web and of each worker role, each
 * with its own METRICS_PORT (and PORT for web), logs in `logDir/<name>.log`.
 */
export async function createFleet(baseEnv: Record<string, string>, logDir: string, perRole = 2): Promise<Fleet> {
  const processes: ServiceProcess[] = [];
  for (const role of ['web', ...WORKER_ROLES] as Role[]) {
    for (let index = 1; index <= perRole; index += 1) {
      const env: Record<string, string> = { ...baseEnv, METRICS_PORT: String(await uniquePort()) };
      if (role === 'web') env.PORT = String(await uniquePort());
      else env.WORKER_QUEUES = role;
      const name = `${role}-${index}`;
      processes.push(new ServiceProcess(name, role, env, path.join(logDir, `${name}.log`)));
    }
  }
  return {
    processes,
    byRole: (role) => processes.filter((process) => process.role === role),
    // A role at a time, its processes together: quicker than one by one, and a failing role is easy to name.
    async startAll() {
      for (const role of ['web', ...WORKER_ROLES]) await Promise.all(processes.filter((process) => process.role === role).map((process) => process.start()));
    },
    async stopAll() {
      await Promise.all(processes.map((process) => process.terminate(20_000)));
    },
    forceStopAll() {
      for (const process of processes) process.forceStop();
    },
  };
}
