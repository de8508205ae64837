import type { CheckResult } from './checks.js';
import type { Ledger } from './ledger.js';
import type { RssGrowth } from './monitors.js';

export interface Verdict {
  ledger: Ledger;
  checks: CheckResult;
  mostLeaders: number;
  growth: RssGrowth[];
  finalRefresh: { ok: number; broken: number };
  readyWithinMs: number;
}

/** A process "grew without bound" when its RSS more than doubled and by over 150 MiB within the run. */
const GROWTH_FACTOR = 2;
const GROWTH_KIB = 150 * 1024;
const MIN_REGISTRATION_SHARE = 2 / 3;

const seconds = (from: number, to: number | undefined) => (to === undefined ? 'never' : `${((to - from) / 1000).toFixed(1)}`);

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

/** The table (per fault and in total) and every broken promise, each a line. */
export function buildReport(verdict: Verdict): { report: string; failures: string[] } {
  const { ledger, checks } = verdict;
  const failures: string[] = [];
  const rows = [['phase', 'answers by status', 'ready s', '1st login s', 'promises', 'lost', 'dup']];
  const allStatus = new Map<string, number>();
  const faultRegistrations = { sent: 0, created: 0 };
  for (const phase of ledger.phases) {
    const counts = ledger.countsOf(phase.name);
    const tally = checks.byPhase.get(phase.name) ?? { checked: 0, lost: 0, duplicated: 0, problems: [] };
    for (const [status, count] of counts.byStatus) allStatus.set(status, (allStatus.get(status) ?? 0) + count);
    const statuses = [...counts.byStatus].sort().map(([status, count]) => `${status}:${count}`).join(' ');
    const isFault = phase.name !== 'baseline';
    rows.push([
      phase.name,
      statuses || '-',
      isFault ? seconds(phase.start, phase.readyAt) : '-',
      isFault ? seconds(phase.start, ledger.firstLoginAfter(phase)) : '-',
      String(tally.checked),
      String(tally.lost),
      String(tally.duplicated),
    ]);
    if (isFault) {
      faultRegistrations.sent += counts.registrations.sent;
      faultRegistrations.created += counts.registrations.created;
      if (phase.readyAt === undefined || phase.readyAt - (phase.injected ?? phase.start) > verdict.readyWithinMs) {
        failures.push(`${phase.name}: /ready not all ok within ${verdict.readyWithinMs / 1000} s of the fault's end (${seconds(phase.injected ?? phase.start, phase.readyAt)} s)`);
      }
    }
    for (const bad of counts.bad.slice(0, 5)) failures.push(`${phase.name}: answer outside the contract: ${bad}`);
    if (counts.bad.length > 5) failures.push(`${phase.name}: ${counts.bad.length - 5} more answers outside the contract`);
    if (counts.hangs > 0) failures.push(`${phase.name}: ${counts.hangs} request(s) hung past the client timeout`);
    if (counts.unexplainedResets > 0) failures.push(`${phase.name}: ${counts.unexplainedResets} connection reset(s) no kill of a web process explains`);
    for (const problem of tally.problems.slice(0, 10)) failures.push(`${phase.name}: ${problem}`);
    if (tally.problems.length > 10) failures.push(`${phase.name}: ${tally.problems.length - 10} more problems`);
  }
  rows.push([
    'total',
    [...allStatus].sort().map(([status, count]) => `${status}:${count}`).join(' '),
    '',
    '',
    String(checks.total.checked),
    String(checks.total.lost),
    String(checks.total.duplicated),
  ]);

  const share = faultRegistrations.sent === 0 ? 1 : faultRegistrations.created / faultRegistrations.sent;
  if (share < MIN_REGISTRATION_SHARE) failures.push(`only ${(share * 100).toFixed(0)}% of the registrations sent during faults answered 201 (at least 67% expected)`);
  if (verdict.mostLeaders > 1) failures.push(`${verdict.mostLeaders} relays held the leader lock at once`);
  if (ledger.brokenChains.length > 0) failures.push(`${ledger.brokenChains.length} refresh chain(s) revoked without the client's doing: ${ledger.brokenChains.slice(0, 3).join(', ')}`);
  const grown = verdict.growth.filter((life) => life.lastKiB > life.firstKiB * GROWTH_FACTOR && life.lastKiB - life.firstKiB > GROWTH_KIB);
  for (const life of grown) failures.push(`${life.name} grew from ${life.firstKiB} to ${life.lastKiB} KiB in ${life.seconds} s`);
  const biggest = [...verdict.growth].sort((a, b) => b.lastKiB - b.firstKiB - (a.lastKiB - a.firstKiB))[0];
  const longest = [...verdict.growth].sort((a, b) => b.seconds - a.seconds)[0];
  const mib = (life: RssGrowth) => `${life.name} ${Math.round(life.firstKiB / 1024)} -> ${Math.round(life.lastKiB / 1024)} MiB over ${life.seconds} s`;

  const notes = ledger.phases.filter((phase) => phase.notes.length > 0).map((phase) => `  ${phase.name}: ${phase.notes.join('; ')}`);
  const summary = [
    `registrations during faults answered 201: ${faultRegistrations.created}/${faultRegistrations.sent} (${(share * 100).toFixed(0)}%)`,
    `relay leaders at once, most seen: ${verdict.mostLeaders}`,
    `refresh chains at the end: ${verdict.finalRefresh.ok} ok, ${verdict.finalRefresh.broken} broken; broken during the run: ${ledger.brokenChains.length}; ended after an unanswered refresh: ${ledger.ambiguousChains}`,
    biggest && longest ? `RSS, largest change: ${mib(biggest)}; longest life: ${mib(longest)}` : 'RSS: no process lived long enough to compare',
  ];
  const report = [pad(rows), '', ...summary, ...(notes.length ? ['fault notes:', ...notes] : []), '', failures.length === 0 ? 'every promise kept' : `BROKEN (${failures.length}):\n  ${failures.join('\n  ')}`].join('\n');
  return { report, failures };
}
