import os from 'node:os';
import { formatCpuAccount, PG_SHARED, processesMs, SERVICE_PORTS, type CpuAccount } from './cpu-account.js';
import type { ApiMeasurements } from './measure-api.js';
import { median, medianRound } from './median.js';

export interface Cell {
  value: number;
  detail: string;
  /** undefined: a figure to report, with no target to pass. */
  pass: boolean | undefined;
}

export interface Figure {
  figure: string;
  target: string;
  cells: Record<string, Cell>;
}

const list = (values: number[], digits: number) => values.map((v) => v.toFixed(digits)).join(', ');
const statuses = (counts: Record<string, number>) => Object.entries(counts).map(([code, n]) => `${n}×${code}`).join(' ');

/**
 * The five figures for each measured process. The throughput ratios are the median of
 * the rounds' ratios (each round: baseline, then API, seconds apart); one hash's time is
 * the median of every raw argon2 run's median single verify.
 */
export function figures(shapes: Array<{ name: string; api: ApiMeasurements }>): Figure[] {
  const oneHash = median(shapes.flatMap(({ api }) => api.loginRounds.map((r) => r.raw.single_ms)));
  const rows: Figure[] = [
    { figure: '1. login ÷ raw argon2 throughput', target: '>= 0.93', cells: {} },
    { figure: '2. GET /health ÷ bare Koa throughput', target: '>= 0.9', cells: {} },
    { figure: '3. login p99 at 80 % of peak ÷ one hash', target: '<= 2', cells: {} },
    { figure: '4. GET /health p99 under login saturation', target: '<= 10 ms', cells: {} },
    { figure: '5. peak RSS, 200-connection login flood', target: 'bounded', cells: {} },
  ];
  for (const { name, api } of shapes) {
    const loginRatios = api.loginRounds.map((r) => r.login.ok_per_second / r.raw.per_second);
    const healthRatios = api.healthRounds.map((r) => r.api.ok_per_second / r.bare.ok_per_second);
    const sameHeadersRatios = api.healthRounds.map((r) => r.api.ok_per_second / r.bareWithHeaders.ok_per_second);
    const loginRatio = median(loginRatios);
    const healthRatio = median(healthRatios);
    const latencyRatio = api.loginAtLoad.p99_ms / oneHash;
    const flood = api.flood;
    rows[0]!.cells[name] = {
      value: loginRatio,
      detail: `rounds ${list(loginRatios, 2)}: ${list(api.loginRounds.map((r) => r.login.ok_per_second), 1)} ÷ ${list(api.loginRounds.map((r) => r.raw.per_second), 1)} /s`,
      pass: loginRatio >= 0.93,
    };
    rows[1]!.cells[name] = {
      value: healthRatio,
      detail:
        `rounds ${list(healthRatios, 2)}: ${list(api.healthRounds.map((r) => r.api.ok_per_second), 0)} ÷ ${list(api.healthRounds.map((r) => r.bare.ok_per_second), 0)} /s; ` +
        `÷ bare Koa sending the same headers: ${median(sameHeadersRatios).toFixed(2)} (${list(sameHeadersRatios, 2)})`,
      pass: healthRatio >= 0.9,
    };
    rows[2]!.cells[name] = {
      value: latencyRatio,
      detail: `${api.loginAtLoad.p99_ms.toFixed(1)} ms ÷ ${oneHash.toFixed(1)} ms at ${api.loginAtLoad.rate}/s (p50 ${api.loginAtLoad.p50_ms.toFixed(1)} ms)`,
      pass: latencyRatio <= 2,
    };
    rows[3]!.cells[name] = {
      value: api.healthUnderLogins.p99_ms,
      detail: `ms; during ${api.healthUnderLogins.logins_per_second.toFixed(1)} logins/s; generator's own send delay p99 ${api.healthUnderLogins.send_late_p99_ms.toFixed(1)} ms`,
      pass: api.healthUnderLogins.p99_ms <= 10,
    };
    rows[4]!.cells[name] = {
      value: flood.vm_hwm_mib,
      detail: `MiB VmHWM (RSS before ${flood.rss_before_mib.toFixed(0)}); ${flood.statuses['503'] ?? 0}×503; ${statuses(flood.statuses)}`,
      pass: undefined,
    };
  }
  return rows;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** A plain text table, one line per figure and process: value, target, PASS/MISS, detail. */
export function formatTable(rows: Figure[], names: string[]): string {
  const verdict = (cell: Cell) => (cell.pass === undefined ? '-' : cell.pass ? 'PASS' : 'MISS');
  const value = (cell: Cell) => (Math.abs(cell.value) >= 10 ? cell.value.toFixed(0) : cell.value.toFixed(2));
  const header = ['figure', 'process', 'value', 'target', 'result', 'detail'];
  const body = rows.flatMap((row) =>
    names.map((name, i) => {
      const cell = row.cells[name]!;
      return [i === 0 ? row.figure : '', name, value(cell), row.target, verdict(cell), cell.detail];
    }),
  );
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((line) => [...line[i]!].length)));
  const line = (cells: string[]) => cells.map((cell, i) => pad(cell, widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * Where the machine's CPU went in figures 1 and 2 (the median round), per process. For
 * figure 1 also the ceiling the other users of the cores leave: one hash costs about
 * min(concurrency, cores) ÷ the raw rate of CPU, and an API that did nothing but hash
 * would still share the cores with PostgreSQL, Redis, the load generator and the kernel.
 */
export function formatCpuNotes(shapes: Array<{ name: string; api: ApiMeasurements }>): string {
  const cores = os.availableParallelism();
  const lines = ['Where the CPU went (median rounds; "generator" is this process, "other" the kernel and the rest):'];
  for (const { name, api } of shapes) {
    const login = medianRound(api.loginRounds, (r) => r.login.ok_per_second / r.raw.per_second);
    const hashMs = (1000 * Math.min(login.raw.concurrency, cores)) / login.raw.per_second;
    const machine = login.cpu.ms_per_operation.machine!;
    const apiMs = processesMs(login.cpu, api.processes);
    const ceiling = hashMs / (hashMs + machine - apiMs);
    lines.push(`  ${name}, figure 1: ${formatCpuAccount(login.cpu, 'login')}`);
    lines.push(`    one hash ≈ ${hashMs.toFixed(1)} ms of CPU, so an API that only hashed would reach at most ${ceiling.toFixed(2)} of raw argon2 here`);
    const health = medianRound(api.healthRounds, (r) => r.api.ok_per_second / r.bare.ok_per_second);
    lines.push(`  ${name}, figure 2, bare Koa: ${formatCpuAccount(health.bareCpu, 'request')}`);
    lines.push(`  ${name}, figure 2, API:      ${formatCpuAccount(health.apiCpu, 'request')}`);
  }
  return lines.join('\n');
}

/** Each user's ms of CPU per login, the median over the login rounds (user by user). */
function medianLoginCpu(api: ApiMeasurements): Record<string, number> {
  const users = new Set(api.loginRounds.flatMap((r) => Object.keys(r.cpu.ms_per_operation)));
  return Object.fromEntries([...users].map((user) => [user, median(api.loginRounds.map((r: { cpu: CpuAccount }) => r.cpu.ms_per_operation[user] ?? 0))]));
}

/** The issue-13 target: the reactions to one sign-in cost at most this much CPU in every process together. */
export const ASYNC_HALF_TARGET_MS = 3;
/** And the full deployment keeps at least this share of raw argon2's login throughput. */
export const FULL_DEPLOYMENT_LOGIN_TARGET = 0.8;

/**
 * Login ÷ raw argon2 for each side, and the asynchronous half of a sign-in: the full
 * deployment's CPU per login (its account runs until the workers have caught up) minus
 * the web role's alone, per process and in total (the Node processes and the services;
 * the generator and "other", the kernel and the machine's other users, are shown apart
 * as they are mostly noise).
 */
export function formatAsyncHalf(shapes: Array<{ name: string; api: ApiMeasurements }>, webName: string, fullName: string): string {
  const ratio = (api: ApiMeasurements) => median(api.loginRounds.map((r) => r.login.ok_per_second / r.raw.per_second));
  const lines = [
    `Login ÷ raw argon2 throughput: ${shapes.map(({ name, api }) => `${name} ${ratio(api).toFixed(2)}`).join(', ')} ` +
      `(full deployment target >= ${FULL_DEPLOYMENT_LOGIN_TARGET}: ${ratio(shapes.find((s) => s.name === fullName)!.api) >= FULL_DEPLOYMENT_LOGIN_TARGET ? 'PASS' : 'MISS'})`,
  ];
  const web = shapes.find((s) => s.name === webName)!.api;
  const full = shapes.find((s) => s.name === fullName)!.api;
  const webCpu = medianLoginCpu(web);
  const fullCpu = medianLoginCpu(full);
  const delta = (user: string) => (fullCpu[user] ?? 0) - (webCpu[user] ?? 0);
  const counted = [...new Set([...full.processes, ...web.processes]), ...Object.keys(SERVICE_PORTS)];
  const total = counted.reduce((sum, user) => sum + delta(user), 0);
  const sign = (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
  lines.push(
    `Asynchronous half per login (${fullName} − ${webName}, ms of CPU, median rounds): ${total.toFixed(2)} ms, target <= ${ASYNC_HALF_TARGET_MS} ms: ${total <= ASYNC_HALF_TARGET_MS ? 'PASS' : 'MISS'}`,
    `  ${counted.map((user) => `${user} ${sign(delta(user))}`).join(', ')}; without the web process's own change (its hash's CPU drifts with the machine's load): ${(total - delta(webName)).toFixed(2)} ms`,
    `  not counted: ${PG_SHARED} ${sign(delta(PG_SHARED))} (WAL writer, checkpointer: shared with every database of the server), generator ${sign(delta('generator'))}, other ${sign(delta('other'))}`,
    `  per login, ${webName}: ${counted.filter((u) => webCpu[u] !== undefined).map((u) => `${u} ${webCpu[u]!.toFixed(2)}`).join(', ')}`,
    `  per login, ${fullName}: ${counted.filter((u) => fullCpu[u] !== undefined).map((u) => `${u} ${fullCpu[u]!.toFixed(2)}`).join(', ')}`,
  );
  return lines.join('\n');
}
