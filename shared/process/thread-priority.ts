import fs from 'node:fs';
import os from 'node:os';

/** The nice value given to every thread but the main one (0 is the default, 19 the lowest). */
const HELPER_THREAD_NICE = 10;

/**
 * Lowers the scheduling priority of every thread of this process but the main one:
 * libuv's pool, where the argon2 hashes run, and V8's helper threads. Under a login flood
 * the hashes then take the CPU that the event loop, PostgreSQL and Redis leave over instead
 * of time-sharing with them, so what waits on the event loop (GET /health, the rest of
 * each login) stays prompt. Hashing throughput does not drop: the cores stay busy either
 * way, only the order changes. Linux only, where the nice value is per thread and a thread
 * id is a valid setpriority() target; elsewhere, or without /proc, it does nothing.
 * Threads started later (a thread pool not yet in use) keep the default priority.
 * Returns how many threads it lowered.
 */
export function lowerHelperThreadPriority(): number {
  if (process.platform !== 'linux') return 0;
  let threadIds: number[];
  try {
    threadIds = fs.readdirSync('/proc/self/task').map(Number);
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const threadId of threadIds) {
    if (threadId === process.pid) continue; // the main thread: the event loop
    try {
      if (os.getPriority(threadId) < HELPER_THREAD_NICE) {
        os.setPriority(threadId, HELPER_THREAD_NICE);
        lowered++;
      }
    } catch {
      // The thread ended meanwhile: nothing to lower.
    }
  }
  return lowered;
}
