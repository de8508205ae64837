/**
 * Raw refresh baseline, run as its own process (`node .../refresh-transaction.js SECONDS
 * TOKEN...`): the refresh of raw-refresh.ts in a loop, no HTTP, no Koa, no validation.
 * One loop per TOKEN at once, each refreshing its own session's chain. Prints one JSON line:
 *   per_second  refreshes per second over SECONDS (after a one-second warm-up);
 *   machine_busy_cores  how busy the whole machine was meanwhile (this script and PostgreSQL, mostly);
 *   tokens      each chain's current token, to carry on from in the next round.
 */
import { machineBusyTicks, TICKS_PER_SECOND } from '../lib/cpu-account.js';
import { rawRefresher } from './raw-refresh.js';

const [secondsArg, ...tokens] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
const refresher = rawRefresher(process.env);

/** Every chain refreshing in a loop until the deadline; returns how many refreshes completed in time. */
async function loops(ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let done = 0;
  await Promise.all(
    tokens.map(async (_, i) => {
      while (performance.now() < deadline) {
        tokens[i] = (await refresher.refresh(tokens[i]!)).refreshToken;
        if (performance.now() <= deadline) done++;
      }
    }),
  );
  return done;
}

await loops(1_000); // warm-up
const machineBefore = machineBusyTicks();
const started = performance.now();
const done = await loops(seconds * 1_000);
const elapsed = (performance.now() - started) / 1_000;
const machine_busy_cores = (machineBusyTicks() - machineBefore) / TICKS_PER_SECOND / elapsed;
await refresher.end();
process.stdout.write(`${JSON.stringify({ per_second: done / elapsed, machine_busy_cores, tokens })}\n`);
