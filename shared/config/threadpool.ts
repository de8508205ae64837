import os from 'node:os';

/**
 * Sizes libuv's thread pool before anything uses it: one thread per concurrent
 * argon2 hash plus four for file system, DNS and zlib work, so hashing never
 * starves them. Must run before the first asynchronous fs/dns/crypto call.
 */
export function sizeThreadpool(env: NodeJS.ProcessEnv = process.env): void {
  if (env.UV_THREADPOOL_SIZE) return;
  const hashing = Number.parseInt(env.HASH_CONCURRENCY ?? '', 10);
  const threads = (Number.isInteger(hashing) && hashing > 0 ? hashing : os.availableParallelism()) + 4;
  env.UV_THREADPOOL_SIZE = String(Math.min(threads, 1024));
}
