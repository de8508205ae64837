import os from 'node:os';
import { loadDotenv } from './dotenv.js';

/**
 * Sizes libuv's thread pool before anything uses it: one thread per concurrent
 * argon2 hash plus four for file system, DNS and zlib work, so hashing never
 * starves them. Must run before the first asynchronous fs/dns/crypto call; reads `.env`
 * first (synchronously) so HASH_CONCURRENCY and UV_THREADPOOL_SIZE set there count.
 */
export function sizeThreadpool(env: NodeJS.ProcessEnv = process.env): void {
  if (env === process.env) loadDotenv();
  if (env.UV_THREADPOOL_SIZE) return;
  const hashing = Number.parseInt(env.HASH_CONCURRENCY ?? '', 10);
  const threads = (Number.isInteger(hashing) && hashing > 0 ? hashing : os.availableParallelism()) + 4;
  env.UV_THREADPOOL_SIZE = String(Math.min(threads, 1024));
}
