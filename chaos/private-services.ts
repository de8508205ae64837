import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { migrate } from '../shared/db/migrator.js';
import { createPool } from '../shared/db/pool.js';
import { createLogger } from '../shared/logger.js';
import { projectRoot } from '../shared/project-root.js';
import { uniquePort } from './unique-port.js';

/**
 * Private instances of PostgreSQL, Redis and RabbitMQ for the chaos run: the faults
 * restart and stop them, so they must never be the machine's shared services.
 */

const run = promisify(execFile);
/** Named after the harness's pid, so two runs on one machine stay apart and a dead run's leftovers are known. */
const PG_CLUSTER = `chaos_${process.pid}`;
const RABBIT_NODE = `chaos${process.pid}@localhost`;

/** Why the harness cannot run here (not root, a tool missing), or undefined when it can. */
export function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return 'the chaos harness needs root (pg_createcluster, a second RabbitMQ node)';
  for (const tool of ['pg_createcluster', 'pg_ctlcluster', 'pg_dropcluster', 'pg_lsclusters', 'epmd', 'redis-server', 'redis-cli', 'rabbitmq-server', 'rabbitmqctl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  if (!pgVersion()) return 'no PostgreSQL version under /etc/postgresql';
  return undefined;
}

function pgVersion(): string | undefined {
  try {
    return fs.readdirSync('/etc/postgresql').sort().pop();
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Removes the clusters, RabbitMQ nodes and Redis servers of earlier runs that died without cleaning up (their pid is gone). */
async function removeLeftovers(version: string): Promise<void> {
  const clusters = await sh('pg_lsclusters', ['-h']).catch(() => '');
  for (const [, name, pid] of clusters.matchAll(/^\S+\s+(chaos_(\d+))\s/gm)) {
    if (!alive(Number(pid))) await sh('pg_dropcluster', ['--stop', version, name!]).catch(() => undefined);
  }
  const nodes = await sh('epmd', ['-names']).catch(() => '');
  for (const [, name, pid] of nodes.matchAll(/^name (chaos(\d+)) at port/gm)) {
    if (!alive(Number(pid))) await sh('rabbitmqctl', ['-n', `${name}@localhost`, 'stop']).catch(() => undefined);
  }
  // The private Redis of a dead run: its folder is named after the run's pid and holds its pidfile.
  for (const entry of fs.readdirSync(os.tmpdir())) {
    const pid = /^us-chaos-(\d+)-/.exec(entry)?.[1];
    if (!pid || alive(Number(pid))) continue;
    const folder = path.join(os.tmpdir(), entry);
    const redisPid = Number(readIfThere(path.join(folder, 'redis.pid')));
    if (redisPid > 0 && alive(redisPid)) process.kill(redisPid, 'SIGKILL');
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** Runs a command to completion, bounded; rejects with its output on failure. */
async function sh(command: string, args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run(command, args, { env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(stderr || stdout || (error as Error).message).trim().slice(-800)}`);
  }
}

export interface PrivatePostgres {
  port: number;
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  drop(): Promise<void>;
}

/** A cluster of its own (trust auth) on a free port, with a migrated database. */
export async function startPostgres(): Promise<PrivatePostgres> {
  const version = pgVersion()!;
  const port = await uniquePort();
  await sh('pg_createcluster', [version, PG_CLUSTER, '-p', String(port), '--', '--auth=trust']);
  const ctl = (action: string) => sh('pg_ctlcluster', ['--skip-systemctl-redirect', version, PG_CLUSTER, action]);
  await ctl('start');
  const url = `postgres://postgres@127.0.0.1:${port}/chaos`;
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE chaos');
  await admin.end();
  const pool = createPool({ url, poolMax: 1, connectTimeoutMs: 5_000 });
  try {
    await migrate(pool, path.join(projectRoot(), 'migrations'), createLogger('silent'));
  } finally {
    await pool.end();
  }
  return {
    port,
    url,
    restart: () => ctl('restart').then(() => undefined),
    stop: () => ctl('stop').then(() => undefined),
    start: () => ctl('start').then(() => undefined),
    drop: () => sh('pg_dropcluster', ['--stop', version, PG_CLUSTER]).then(() => undefined),
  };
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** SHUTDOWN NOSAVE, then the same server again, empty. */
  restartEmpty(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(dir: string): Promise<PrivateRedis> {
  const port = await uniquePort();
  const pidFile = path.join(dir, 'redis.pid');
  const start = async () => {
    await sh('redis-server', [
      '--bind', '127.0.0.1', '--port', String(port), '--daemonize', 'yes', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--maxmemory-policy', 'noeviction', '--pidfile', pidFile, '--logfile', path.join(dir, 'redis.log'),
    ]);
    for (let i = 0; i < 100; i += 1) {
      if (await sh('redis-cli', ['-p', String(port), 'ping'], undefined, 2_000).then((out) => out.includes('PONG'), () => false)) return;
      await sleep(100);
    }
    throw new Error(`redis-server on port ${port} did not answer PING`);
  };
  const shutdown = async () => {
    await sh('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], undefined, 5_000).catch(() => undefined);
    for (let i = 0; i < 100 && fs.existsSync(pidFile); i += 1) await sleep(50);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restartEmpty() {
      await shutdown();
      await start();
    },
    stop: shutdown,
  };
}

export interface PrivateRabbit {
  port: number;
  url: string;
  /** rabbitmqctl stop_app, then start_app. */
  restartApp(): Promise<void>;
  closeAllConnections(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A second RabbitMQ node on this machine (chaos@localhost) with its own ports, data,
 * logs and config, and no plugins (the management plugin would want port 15672). The
 * server runs as the rabbitmq user, so its folders belong to it.
 */
export async function startRabbit(dir: string): Promise<PrivateRabbit> {
  try {
    return await startRabbitOnce(dir);
  } catch {
    // A port taken meanwhile by someone else makes the node die at boot: once more, on new ports.
    await sh('rabbitmqctl', ['-n', RABBIT_NODE, 'stop']).catch(() => undefined);
    fs.rmSync(path.join(dir, 'rabbitmq'), { recursive: true, force: true });
    return startRabbitOnce(dir);
  }
}

async function startRabbitOnce(dir: string): Promise<PrivateRabbit> {
  const port = await uniquePort();
  const distPort = await uniquePort();
  const base = path.join(dir, 'rabbitmq');
  for (const sub of ['mnesia', 'log']) fs.mkdirSync(path.join(base, sub), { recursive: true });
  fs.writeFileSync(path.join(base, 'enabled_plugins'), '[].\n');
  // The machine's rabbitmq.conf names 5672; this node's own file names its port.
  fs.writeFileSync(path.join(base, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  await sh('chown', ['-R', 'rabbitmq:rabbitmq', base]).catch(() => undefined);
  const env = {
    RABBITMQ_NODENAME: RABBIT_NODE,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(base, 'log'),
    RABBITMQ_PID_FILE: path.join(base, 'rabbit.pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(base, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(base, 'rabbitmq.conf'),
  };
  const ctl = (...args: string[]) => sh('rabbitmqctl', ['-n', RABBIT_NODE, ...args], env);
  await sh('rabbitmq-server', ['-detached'], env);
  // await_startup fails at once while the node has not registered with epmd yet.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await ctl('await_startup', '--timeout', '60');
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${(error as Error).message.slice(0, 300)}\nnode log:\n${logTail(path.join(base, 'log'))}`);
      await sleep(500);
    }
  }
  return {
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    async restartApp() {
      await ctl('stop_app');
      await ctl('start_app');
    },
    closeAllConnections: () => ctl('close_all_connections', 'chaos fault').then(() => undefined),
    stop: () => ctl('stop').then(() => undefined),
  };
}

function logTail(dir: string): string {
  try {
    return fs.readdirSync(dir).map((file) => fs.readFileSync(path.join(dir, file), 'utf8').trimEnd().split('\n').slice(-15).join('\n')).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface PrivateServices {
  dir: string;
  postgres: PrivatePostgres;
  redis: PrivateRedis;
  rabbit: PrivateRabbit;
  /** Stops and removes everything, whatever state it is in; never throws. */
  remove(): Promise<void>;
}

export async function startPrivateServices(): Promise<PrivateServices> {
  await removeLeftovers(pgVersion()!);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `us-chaos-${process.pid}-`));
  fs.chmodSync(dir, 0o755);
  const started: Partial<PrivateServices> = { dir };
  const remove = async () => {
    await started.rabbit?.stop().catch(() => undefined);
    await started.redis?.stop().catch(() => undefined);
    await started.postgres?.drop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Settled one by one, so a failure still leaves the others known to remove().
    const [postgres, redis, rabbit] = await Promise.allSettled([startPostgres(), startRedis(dir), startRabbit(dir)]);
    if (postgres.status === 'fulfilled') started.postgres = postgres.value;
    if (redis.status === 'fulfilled') started.redis = redis.value;
    if (rabbit.status === 'fulfilled') started.rabbit = rabbit.value;
    for (const result of [postgres, redis, rabbit]) if (result.status === 'rejected') throw result.reason;
  } catch (error) {
    await remove();
    throw error;
  }
  return { ...(started as PrivateServices), remove };
}
