import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { projectRoot } from '../shared/project-root.js';
import { startSmtpSink } from '../test/support/smtp-sink.js';
import { checkPromises, type CheckResult } from './checks.js';
import { startEventTap } from './event-tap.js';
import { FAULTS, type FaultContext } from './faults.js';
import { call } from './http-call.js';
import { Ledger, type Phase } from './ledger.js';
import { harnessPool, watchLeaders, watchRss, type RssGrowth } from './monitors.js';
import { startPrivateServices } from './private-services.js';
import { buildReport, type Verdict } from './report.js';
import { startRoundRobinProxy } from './round-robin-proxy.js';
import { createFleet, type ServiceProcess } from './service-processes.js';
import { pidOwningLocalPort } from '../test/support/socket-owner.js';
import { startTraffic } from './traffic.js';

export interface ChaosOptions {
  /** How long the traffic runs, faults included (the faults are spread over it). */
  durationS: number;
  faults: string[];
  requestsPerMinute: number;
  /** How long the checks may wait for delayed work (mail, audit rows) after the traffic stops. */
  settleS: number;
  /** Where the logs of every process and the table go. */
  resultsDir: string;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface ChaosResult {
  ok: boolean;
  report: string;
  checks: CheckResult;
  failures: string[];
}

/** How long after a fault's injection /ready must be all ok again. */
const READY_WITHIN_MS = 30_000;

/** Polls /ready through the proxy until every check is ok; the time it was, or undefined after `timeoutMs`. */
async function waitReady(port: number, timeoutMs: number, signal?: AbortSignal): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const outcome = await call(port, 'GET', '/ready', { timeoutMs: 3_000 });
    if (outcome.kind === 'answer' && outcome.status === 200) {
      const checks = outcome.body.checks as Record<string, string> | undefined;
      if (checks && Object.values(checks).every((state) => state === 'ok')) return Date.now();
    }
    await sleep(250, undefined, { signal });
  }
  return undefined;
}

/**
 * The whole run: private services, the Procfile's processes two per role behind the
 * proxy, steady traffic, the faults one after another, then the checks of every
 * promise. Everything it started is removed before it returns or throws.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { log, signal } = options;
  const logDir = path.join(options.resultsDir, 'logs');
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  log('building dist/ (npm run build)');
  await promisify(execFile)(path.join(projectRoot(), 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: projectRoot() });

  const cleanups: (() => Promise<unknown> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await Promise.resolve().then(step).catch(() => undefined);
  };
  try {
    log('starting a private PostgreSQL cluster, Redis and RabbitMQ node');
    const services = await startPrivateServices();
    cleanups.push(() => services.remove());

    let armed: { resolve(victim: ServiceProcess): void } | undefined;
    const sink = await startSmtpSink({
      async beforeAccept(session) {
        if (!armed) return;
        const emailWorkers = fleet.byRole('email');
        const pid = pidOwningLocalPort(session.remotePort, emailWorkers.flatMap((worker) => (worker.pid ? [worker.pid] : [])));
        const victim = emailWorkers.find((worker) => worker.pid === pid);
        if (!victim) return;
        const { resolve } = armed;
        armed = undefined;
        await victim.kill();
        resolve(victim);
      },
    });
    cleanups.push(() => sink.close());
    const tap = await startEventTap(services.rabbit.url);
    cleanups.push(() => tap.close());

    const fleet = await createFleet(
      {
        NODE_ENV: 'production',
        DATABASE_URL: services.postgres.url,
        REDIS_URL: services.redis.url,
        RABBITMQ_URL: services.rabbit.url,
        SMTP_URL: sink.url,
        APP_SECRET: 'chaos-harness-secret-that-is-long-enough',
        PUBLIC_URL: 'http://localhost:8001',
        QUEUE_PREFIX: 'chaos',
        // Every client comes from 127.0.0.1 through the proxy.
        RATE_LIMIT_SCALE: '1000',
        HASH_CONCURRENCY: '1',
        LOG_LEVEL: 'info',
        MIGRATE_ON_START: 'false',
      },
      logDir,
    );
    cleanups.push(() => fleet.forceStopAll());
    cleanups.push(() => fleet.stopAll());
    log(`starting ${fleet.processes.length} processes (2 web, 2 of each worker role)`);
    await fleet.startAll();
    const proxy = await startRoundRobinProxy(() => fleet.byRole('web').map((web) => ({ name: web.name, port: web.port })));
    cleanups.push(() => proxy.close());
    const pool = harnessPool(services.postgres.url);
    cleanups.push(() => pool.end());
    if ((await waitReady(proxy.port, 60_000, signal)) === undefined) throw new Error('the service never became ready');

    const ledger = new Ledger();
    const leaders = watchLeaders(pool);
    const rss = watchRss(fleet);
    log(`traffic at ${options.requestsPerMinute} requests/min for ${options.durationS} s; faults: ${options.faults.join(', ')}`);
    const traffic = startTraffic(proxy.port, ledger, sink, options.requestsPerMinute);
    cleanups.push(() => traffic.stop());
    const startedAt = Date.now();
    const slotMs = (options.durationS * 1000) / (options.faults.length + 1);
    await sleep(Math.min(slotMs, 20_000), undefined, { signal });

    for (const [index, name] of options.faults.entries()) {
      const fault = FAULTS[name];
      if (!fault) throw new Error(`unknown fault ${name}; known: ${Object.keys(FAULTS).join(', ')}`);
      const phase = ledger.begin(name);
      const context: FaultContext = {
        services,
        fleet,
        query: (sql, values) => pool.query(sql, values),
        killNextEmailSender: () =>
          new Promise<ServiceProcess>((resolve, reject) => {
            const timer = setTimeout(() => {
              armed = undefined;
              reject(new Error('no email worker sent a mail within 60 s'));
            }, 60_000);
            armed = { resolve: (victim) => (clearTimeout(timer), resolve(victim)) };
          }),
        webKills: phase.webKills,
        note: (text) => phase.notes.push(text),
      };
      log(`fault ${index + 1}/${options.faults.length}: ${name}`);
      await fault.inject(context);
      phase.injected = Date.now();
      phase.readyAt = await waitReady(proxy.port, 120_000, signal);
      log(`  ${name}: ${phase.notes.join('; ') || 'done'}; ready ${phase.readyAt ? `after ${((phase.readyAt - phase.start) / 1000).toFixed(1)} s` : 'NEVER'}`);
      const slotEnd = startedAt + slotMs * (index + 2);
      // Every fault gets some quiet traffic after its recovery before the next one.
      await sleep(Math.max(slotEnd - Date.now(), 8_000), undefined, { signal });
    }
    await sleep(Math.max(startedAt + options.durationS * 1000 - Date.now(), 0), undefined, { signal });
    await traffic.stop();
    const finalRefresh = { ok: 0, broken: 0 };
    for (const client of traffic.clients) {
      const result = await client.finalRefresh();
      if (result !== 'none') finalRefresh[result] += 1;
    }
    const mostLeaders = leaders.stop();
    const growth = rss.stop();

    log(`traffic stopped; checking promises (settling for up to ${options.settleS} s)`);
    const settleDeadline = Date.now() + options.settleS * 1000;
    let checks = await checkPromises(pool, ledger, tap, sink);
    while (checks.total.lost > 0 && Date.now() < settleDeadline) {
      await sleep(3_000, undefined, { signal });
      checks = await checkPromises(pool, ledger, tap, sink);
    }
    const verdict: Verdict = { ledger, checks, mostLeaders, growth, finalRefresh, readyWithinMs: READY_WITHIN_MS };
    const { report, failures } = buildReport(verdict);
    fs.writeFileSync(path.join(options.resultsDir, 'latest.txt'), `${report}\n`);
    return { ok: failures.length === 0, report, checks, failures };
  } finally {
    log('cleaning up: processes, proxy, private services');
    await cleanup();
  }
}

export type { Phase, RssGrowth };
