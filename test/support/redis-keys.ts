import crypto from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * The Redis the suites share with each other and with other developers' runs and
 * installs on this machine: a run deletes only the keys of its own prefixes, one prefix
 * at a time (SCAN + UNLINK), never FLUSHALL.
 */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every queue and rate-limit key prefix this run handed out, for the root check (test/support/hooks.ts). */
const runPrefixes = new Set<string>();

/** Records a prefix as this run's; returns it. */
export function registerTestPrefix(prefix: string): string {
  runPrefixes.add(prefix);
  return prefix;
}

/** A fresh prefix of this run, e.g. testPrefix('audit-test') = 'audit-test-1a2b3c4d'. */
export function testPrefix(kind: string): string {
  return registerTestPrefix(`${kind}-${crypto.randomBytes(4).toString('hex')}`);
}

export function runTestPrefixes(): string[] {
  return [...runPrefixes];
}

/**
 * The keys of a prefix: the queues' (shared/queues/queues.ts queuePrefix) and the rate
 * limits' (`{prefix}:rl:...`) all sit in its hash tag. The braces are literal in a
 * Redis pattern; glob characters in the prefix itself are escaped.
 */
function keyPattern(prefix: string): string {
  return `{${prefix.replace(/[*?[\]\\]/g, '\\$&')}}:*`;
}

async function withSharedRedis<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

async function forEachKeyBatch(redis: Redis, prefix: string, each: (keys: string[]) => Promise<void>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', keyPattern(prefix), 'COUNT', 1_000);
    if (keys.length > 0) await each(keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * Deletes every key of these prefixes from the shared Redis; call it when the suite that
 * used them has stopped everything that writes under them. Returns how many it deleted.
 */
export async function removeTestKeys(...prefixes: string[]): Promise<number> {
  return withSharedRedis(async (redis) => {
    let removed = 0;
    for (const prefix of new Set(prefixes)) {
      await forEachKeyBatch(redis, prefix, async (keys) => {
        removed += await redis.unlink(...keys);
      });
    }
    return removed;
  });
}

/** The prefixes (of these, by default all of this run's) that still have keys in the shared Redis, with how many. */
export async function remainingTestKeys(prefixes: readonly string[] = runTestPrefixes()): Promise<Map<string, number>> {
  return withSharedRedis(async (redis) => {
    const left = new Map<string, number>();
    for (const prefix of new Set(prefixes)) {
      await forEachKeyBatch(redis, prefix, async (keys) => {
        left.set(prefix, (left.get(prefix) ?? 0) + keys.length);
      });
    }
    return left;
  });
}
