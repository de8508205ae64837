import { rawArgon2, healthLoad, type Argon2Baseline } from './baselines.js';
import { formatCpuAccount, withCpuAccount, type CpuAccount } from './cpu-account.js';
import { closedLoop, fixedRate, type ClosedLoopResult, type FixedRateResult, type Request } from './load.js';
import { fixedRateInOwnProcess } from './fixed-rate-process.js';
import { readMemory, sampleRss, withCpu, type ServerProcess } from './processes.js';
import { SETTINGS } from './settings.js';

export interface BenchUser {
  email: string;
  password: string;
}

type WithCpu<T> = T & { server_cpu_cores: number };

export interface ApiMeasurements {
  /** The processes under test whose CPU is accounted by name (the web role and a worker, or the all-in-one process). */
  processes: string[];
  /** Figure 1's rounds: raw argon2 in its own process, then logins against the API, with where the machine's CPU went. */
  loginRounds: Array<{ raw: Argon2Baseline; login: WithCpu<ClosedLoopResult>; cpu: CpuAccount }>;
  /**
   * Figure 2's rounds: the bare Koa app, the same with the API's headers, then the API,
   * same load, each with where the machine's CPU went.
   */
  healthRounds: Array<{
    bare: WithCpu<ClosedLoopResult>;
    bareWithHeaders: WithCpu<ClosedLoopResult>;
    api: WithCpu<ClosedLoopResult>;
    bareCpu: CpuAccount;
    apiCpu: CpuAccount;
  }>;
  loginAtLoad: FixedRateResult;
  healthUnderLogins: FixedRateResult & { logins_per_second: number };
  flood: { rss_before_mib: number; peak_rss_mib: number; vm_hwm_mib: number; statuses: Record<string, number> };
}

export function loginRequests(users: BenchUser[]): Request[] {
  return users.map((user) => ({ method: 'POST', path: '/login', body: JSON.stringify(user) }));
}

const HEALTH: Request[] = [{ method: 'GET', path: '/health' }];

/**
 * What is measured beside the process serving HTTP: `processes` names every process of
 * the deployment for the CPU account (the HTTP one included), and `settle` waits until
 * the deployment's workers have done what a load left them (outbox published, reactions
 * completed), inside figure 1's CPU account, so their work is counted per login.
 */
export interface Deployment {
  processes: Record<string, number>;
  settle?: () => Promise<void>;
  /** Its database: PostgreSQL's work for other databases on the shared server is not its. */
  database?: string;
}
const MiB = (kib: number) => kib / 1024;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The five figures' measurements for one running API process, in order. `bare` is the
 * bare Koa baseline and `bareWithHeaders` the same sending the API's headers (both
 * running, idle otherwise); `env` is what the raw argon2 baseline reads.
 */
export async function measureApi(
  server: ServerProcess,
  bare: ServerProcess,
  bareWithHeaders: ServerProcess,
  users: BenchUser[],
  env: Record<string, string>,
  progress: (line: string) => void,
  deployment: Deployment = { processes: { [server.name]: server.pid } },
): Promise<ApiMeasurements> {
  const { url, pid, name } = server;
  const { processes, settle, database } = deployment;
  const logins = loginRequests(users);
  const { connections, rounds } = SETTINGS;

  progress(`${name}: warm-up, logins and GET /health (API and bare Koa), 3 s each`);
  await closedLoop(url, logins, connections, 3);
  await closedLoop(url, HEALTH, connections, 3);
  await closedLoop(bare.url, HEALTH, connections, 3);
  await closedLoop(bareWithHeaders.url, HEALTH, connections, 3);
  await settle?.();

  const loginRounds: ApiMeasurements['loginRounds'] = [];
  for (let round = 1; round <= rounds; round++) {
    progress(`${name}: login round ${round}/${rounds}: raw argon2 ${SETTINGS.loginRoundSeconds} s, then logins ${SETTINGS.loginRoundSeconds} s, ${connections} connections`);
    const raw = await rawArgon2(SETTINGS.loginRoundSeconds, env);
    // The account runs on past the load until the workers have caught up (settle): their
    // work for these logins is counted, the throughput only over the load.
    const { result: login, cpu } = await withCpuAccount(
      processes,
      () => withCpu(pid, () => closedLoop(url, logins, connections, SETTINGS.loginRoundSeconds)),
      (result) => result.ok_per_second * SETTINGS.loginRoundSeconds,
      { settle, database },
    );
    loginRounds.push({ raw, login, cpu });
    const drained = settle ? `; workers caught up ${(cpu.seconds - SETTINGS.loginRoundSeconds).toFixed(1)} s after the load` : '';
    progress(`  raw ${raw.per_second.toFixed(1)} verifications/s (one verify ${raw.single_ms.toFixed(1)} ms); API ${login.ok_per_second.toFixed(1)} logins/s, statuses ${JSON.stringify(login.statuses)}${drained}`);
    progress(`  ${formatCpuAccount(cpu, 'login')}`);
    await pause(1_000);
  }

  const healthRounds: ApiMeasurements['healthRounds'] = [];
  for (let round = 1; round <= rounds; round++) {
    const requests = (result: ClosedLoopResult) => result.ok_per_second * SETTINGS.healthRoundSeconds;
    const { result: bareResult, cpu: bareCpu } = await withCpuAccount({ 'bare Koa': bare.pid }, () => healthLoad(bare, connections, SETTINGS.healthRoundSeconds), requests);
    const bareWithHeadersResult = await healthLoad(bareWithHeaders, connections, SETTINGS.healthRoundSeconds);
    const { result: api, cpu: apiCpu } = await withCpuAccount(processes, () => healthLoad(server, connections, SETTINGS.healthRoundSeconds), requests, { database });
    healthRounds.push({ bare: bareResult, bareWithHeaders: bareWithHeadersResult, api, bareCpu, apiCpu });
    progress(
      `${name}: GET /health round ${round}/${rounds}, ${connections} connections, ${SETTINGS.healthRoundSeconds} s each: bare Koa ${bareResult.ok_per_second.toFixed(0)}/s (CPU ${bareResult.server_cpu_cores.toFixed(2)}), ` +
        `bare Koa with the API's headers ${bareWithHeadersResult.ok_per_second.toFixed(0)}/s, API ${api.ok_per_second.toFixed(0)}/s (CPU ${api.server_cpu_cores.toFixed(2)})`,
    );
  }

  const peak = loginRounds.reduce((sum, r) => sum + r.login.ok_per_second, 0) / loginRounds.length;
  const rate = Math.max(1, Math.round(peak * SETTINGS.latencyLoad));
  progress(`${name}: login latency at a fixed ${rate}/s (${SETTINGS.latencyLoad * 100} % of its peak), ${SETTINGS.latencySeconds} s`);
  await settle?.();
  const loginAtLoad = await fixedRate(url, logins, rate, SETTINGS.latencySeconds);
  progress(`  p50 ${loginAtLoad.p50_ms.toFixed(1)} ms, p99 ${loginAtLoad.p99_ms.toFixed(1)} ms over ${loginAtLoad.samples} logins, statuses ${JSON.stringify(loginAtLoad.statuses)}`);

  progress(`${name}: GET /health at ${SETTINGS.healthUnderLoadRate}/s while ${connections} connections of logins saturate the CPU, ${SETTINGS.healthUnderLoadSeconds} s`);
  const [saturating, healthProbe] = await Promise.all([
    closedLoop(url, logins, connections, SETTINGS.healthUnderLoadSeconds + 2),
    // The probe's generator runs in a process of its own: autocannon's work in this one would delay its sends.
    fixedRateInOwnProcess(url, HEALTH, SETTINGS.healthUnderLoadRate, SETTINGS.healthUnderLoadSeconds, 8),
  ]);
  const healthUnderLogins = { ...healthProbe, logins_per_second: saturating.ok_per_second };
  progress(
    `  health p50 ${healthProbe.p50_ms.toFixed(2)} ms, p99 ${healthProbe.p99_ms.toFixed(2)} ms (max ${healthProbe.max_ms.toFixed(1)} ms; the generator itself sent late by up to ${healthProbe.send_late_p99_ms.toFixed(2)} ms at p99) while ${saturating.ok_per_second.toFixed(1)} logins/s`,
  );

  progress(`${name}: login flood, ${SETTINGS.floodConnections} connections, ${SETTINGS.floodSeconds} s, sampling RSS`);
  const before = readMemory(pid);
  const sampler = sampleRss(pid);
  const floodResult = await closedLoop(url, logins, SETTINGS.floodConnections, SETTINGS.floodSeconds);
  const peakRss = sampler.stop();
  const flood = { rss_before_mib: MiB(before.rssKiB), peak_rss_mib: MiB(peakRss), vm_hwm_mib: MiB(readMemory(pid).hwmKiB), statuses: floodResult.statuses };
  progress(`  RSS ${flood.rss_before_mib.toFixed(0)} MiB before, peak ${flood.peak_rss_mib.toFixed(0)} MiB (VmHWM ${flood.vm_hwm_mib.toFixed(0)} MiB), statuses ${JSON.stringify(flood.statuses)}`);

  await settle?.();
  return { processes: Object.keys(processes), loginRounds, healthRounds, loginAtLoad, healthUnderLogins, flood };
}
