// `npm run chaos`: the chaos harness (docs/chaos.md). Exit code 1 when a promise is broken, 2 when it cannot run here.
import path from 'node:path';
import { projectRoot } from '../shared/project-root.js';
import { FULL_PROFILE, SHORT_PROFILE } from './faults.js';
import { runChaos } from './harness.js';
import { missingPrerequisite } from './private-services.js';

const short = process.env.CHAOS_PROFILE === 'short';
const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

const missing = missingPrerequisite();
if (missing) {
  console.error(`chaos: cannot run here: ${missing}`);
  process.exit(2);
}
const abort = new AbortController();
let interrupted = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted += 1;
    console.error(interrupted === 1 ? 'chaos: interrupted; cleaning up (again to exit at once)' : 'chaos: exiting without cleanup');
    if (interrupted > 1) process.exit(130);
    abort.abort();
  });
}
try {
  const result = await runChaos({
    durationS: number('CHAOS_DURATION_S', short ? 150 : 300),
    faults: process.env.CHAOS_FAULTS ? process.env.CHAOS_FAULTS.split(',') : short ? SHORT_PROFILE : FULL_PROFILE,
    requestsPerMinute: number('CHAOS_RPM', 300),
    settleS: number('CHAOS_SETTLE_S', 90),
    resultsDir: path.join(projectRoot(), 'chaos-results'),
    log: (line) => console.log(`chaos ${new Date().toISOString().slice(11, 19)} ${line}`),
    signal: abort.signal,
  });
  console.log(`\n${result.report}\n\n(also in chaos-results/latest.txt)`);
  process.exit(result.ok ? 0 : 1);
} catch (error) {
  console.error(`chaos: ${abort.signal.aborted ? 'interrupted' : (error as Error).stack}`);
  process.exit(abort.signal.aborted ? 130 : 1);
}
