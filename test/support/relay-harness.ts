import { spawn, execFile, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import amqp, { type ConsumeMessage } from 'amqplib';
import { EVENTS_EXCHANGE } from '../../shared/broker/broker-topology.js';
import { projectRoot } from '../../shared/project-root.js';
import { checkingPublishedEvents, tapVhost } from './published-events.js';

const run = promisify(execFile);

/**
 * A RabbitMQ vhost of its own (rabbitmqctl, as root on this machine), so a test sees only
 * its messages. During a test run its publishes are traced and checked against the
 * AsyncAPI document (published-events.ts).
 */
export interface TestVhost {
  name: string;
  url: string;
  remove(): Promise<void>;
}

export async function createVhost(prefix = 'us_relay'): Promise<TestVhost> {
  const name = `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
  await run('rabbitmqctl', ['-q', 'add_vhost', name]);
  const traced = checkingPublishedEvents();
  await Promise.all([
    run('rabbitmqctl', ['-q', 'set_permissions', '-p', name, 'guest', '.*', '.*', '.*']),
    traced ? run('rabbitmqctl', ['-q', 'trace_on', '-p', name]) : undefined,
  ]);
  const base = new URL(process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/');
  base.pathname = `/${encodeURIComponent(name)}`;
  const tap = traced ? await tapVhost(base.toString()) : undefined;
  return {
    name,
    url: base.toString(),
    async remove() {
      await tap?.close();
      await run('rabbitmqctl', ['-q', 'delete_vhost', name]).catch(() => undefined);
    },
  };
}

/** Closes every client connection to the vhost, as a broker restart or a network cut would. */
export async function closeAllConnections(vhost: string): Promise<void> {
  await run('rabbitmqctl', ['-q', 'close_all_connections', '--vhost', vhost, 'test']);
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** A worker process (`node --import tsx workers/main.ts`) whose JSON log lines can be awaited. */
export interface WorkerProcess {
  child: ChildProcess;
  lines: LogLine[];
  waitForLog(pattern: RegExp, timeoutMs?: number, after?: number): Promise<LogLine>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnWorker(env: NodeJS.ProcessEnv, nodeArgs: string[] = []): WorkerProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'workers/main.ts'], {
    cwd: projectRoot(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const listeners = new Set<() => void>();
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        lines.push({ level: 'raw', msg: part });
      }
    }
    for (const listener of listeners) listener();
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  return {
    child,
    lines,
    waitForLog(pattern, timeoutMs = 20_000, after = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.slice(after).find((l) => pattern.test(l.msg));
          if (!line) return;
          cleanup();
          resolve(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      if (signal === 'SIGSTOP') return null;
      return exited;
    },
  };
}

/** A durable queue of the test's own, bound to `user.events`, collecting what arrives. */
export interface TestConsumer {
  queue: string;
  messages: ConsumeMessage[];
  close(): Promise<void>;
}

/** Binds (or re-opens, given its name) a durable queue to `user.events` and consumes it. */
export async function bindConsumer(url: string, options: { routingKey?: string; queue?: string } = {}): Promise<TestConsumer> {
  const { routingKey = '#', queue = `test.consumer.${crypto.randomBytes(4).toString('hex')}` } = options;
  const connection = await amqp.connect(url);
  connection.on('error', () => undefined);
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  await channel.checkExchange(EVENTS_EXCHANGE);
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, EVENTS_EXCHANGE, routingKey);
  const messages: ConsumeMessage[] = [];
  await channel.consume(queue, (message) => {
    if (!message) return;
    messages.push(message);
    channel.ack(message);
  });
  return {
    queue,
    messages,
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}
