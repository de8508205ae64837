import os from 'node:os';
import { formatCpuAccount } from './cpu-account.js';
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
    const { machine, api: apiMs } = login.cpu.ms_per_operation;
    const ceiling = hashMs / (hashMs + machine - apiMs);
    lines.push(`  ${name}, figure 1: ${formatCpuAccount(login.cpu, 'login')}`);
    lines.push(`    one hash ≈ ${hashMs.toFixed(1)} ms of CPU, so an API that only hashed would reach at most ${ceiling.toFixed(2)} of raw argon2 here`);
    const health = medianRound(api.healthRounds, (r) => r.api.ok_per_second / r.bare.ok_per_second);
    lines.push(`  ${name}, figure 2, bare Koa: ${formatCpuAccount(health.bareCpu, 'request')}`);
    lines.push(`  ${name}, figure 2, API:      ${formatCpuAccount(health.apiCpu, 'request')}`);
  }
  return lines.join('\n');
}
