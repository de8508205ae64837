/**
 * Raw argon2 baseline, run as its own process (`node .../argon2-verify.js SECONDS`): the
 * hashing parameters and HASH_CONCURRENCY the app would read from the same environment,
 * the thread pool sized the same way. Prints one JSON line:
 *   single_ms   median of 40 sequential argon2.verify calls (one hash, alone);
 *   per_second  verifications per second with HASH_CONCURRENCY verify loops at once.
 */
import argon2 from 'argon2';
import { loadConfig } from '../../shared/config/config.js';


const seconds = Number(process.argv[2] ?? 10);
const { concurrency, memoryKiB, timeCost, parallelism } = loadConfig(process.env).hashing;
const password = 'a bench password, long enough';
const hash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: memoryKiB, timeCost, parallelism });

const singles: number[] = [];
for (let i = 0; i < 40; i++) {
  const started = performance.now();
  await argon2.verify(hash, password);
  singles.push(performance.now() - started);
}
singles.sort((a, b) => a - b);

/** `concurrency` loops of verify until the deadline; returns how many completed. */
async function loops(ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        if (!(await argon2.verify(hash, password))) throw new Error('verify failed');
        if (performance.now() <= deadline) done++;
      }
    }),
  );
  return done;
}

await loops(1_000); // warm-up
const started = performance.now();
const done = await loops(seconds * 1_000);
const elapsed = (performance.now() - started) / 1_000;
process.stdout.write(`${JSON.stringify({ concurrency, single_ms: singles[singles.length >> 1], per_second: done / elapsed })}\n`);
