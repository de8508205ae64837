import type { Redis, Result } from 'ioredis';
import { withTimeout } from '../with-timeout.js';

/**
 * One limit's counter as rate-limiter-flexible's RateLimiterRedis keeps it, so that the
 * library's own reward, delete and get, and every path still counting through it, work
 * on the same key: `${keyPrefix}:${id}`, an integer with an expiry set when its fixed
 * window of `seconds` starts.
 */
export interface StoredLimit {
  key: string;
  points: number;
  seconds: number;
  /** Its refusal ends the count without giving the earlier limits their points back: the caller may still count the request elsewhere. */
  handsBack?: boolean;
}

/** What one limit counted: the points consumed in its window, and the ms before the window ends. */
export interface StoredCount {
  consumed: number;
  msBeforeNext: number;
}

/*
 * Each step of the count is RateLimiterRedis's own script (lib/RateLimiterRedis.js,
 * incrTtlLuaScript) for one point. The first limit over its points ends the count: the
 * later ones are not touched, so a refused client creates no keys, and the earlier ones
 * get their point back, while the refusing one keeps its increment, as the per-key path
 * leaves them. A script runs atomically with Redis's clock frozen, so the earlier keys
 * still exist with their expiry and a plain decrement is the library's reward.
 */
const COUNT_SCRIPT = `
local replies = {}
for i, key in ipairs(KEYS) do
  local points, seconds, handsBack = tonumber(ARGV[3 * i - 2]), ARGV[3 * i - 1], ARGV[3 * i]
  redis.call('set', key, 0, 'EX', seconds, 'NX')
  local consumed = redis.call('incrby', key, 1)
  local ttl = redis.call('pttl', key)
  if ttl == -1 then
    redis.call('expire', key, seconds)
    ttl = 1000 * seconds
  end
  replies[2 * i - 1] = consumed
  replies[2 * i] = ttl
  if consumed > points then
    if handsBack ~= '1' then
      for j = 1, i - 1 do redis.call('incrby', KEYS[j], -1) end
    end
    return replies
  end
end
return replies
`;

/*
 * RateLimiterRedis's reward (the same script, by -1) for the first ARGV[1] keys, whose
 * window seconds follow; its delete for the rest.
 */
const RELEASE_SCRIPT = `
local refunds = tonumber(ARGV[1])
for i = 1, refunds do
  local seconds = ARGV[1 + i]
  redis.call('set', KEYS[i], 0, 'EX', seconds, 'NX')
  redis.call('incrby', KEYS[i], -1)
  if redis.call('pttl', KEYS[i]) == -1 then redis.call('expire', KEYS[i], seconds) end
end
for i = refunds + 1, #KEYS do redis.call('del', KEYS[i]) end
return #KEYS
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    rlCountLimits(numberOfKeys: number, ...keysAndArgs: string[]): Result<number[], Context>;
    rlReleaseLimits(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/** Makes the scripts callable on `redis` (EVALSHA, loaded on first use). Every key of one call shares its `{prefix}` hash tag, so they run on Redis Cluster too. */
export function defineLimitScripts(redis: Redis): void {
  redis.defineCommand('rlCountLimits', { lua: COUNT_SCRIPT });
  redis.defineCommand('rlReleaseLimits', { lua: RELEASE_SCRIPT });
}

/**
 * The answer of `work` within `timeoutMs`, or undefined when Redis is not connected (as
 * RateLimiterRedis's rejectIfRedisNotReady), fails, or is late: the caller then counts
 * on the per-process limiters, as RLWrapperTimeouts answers after its timeout.
 */
async function answerWithin<T>(redis: Redis, timeoutMs: number, work: () => Promise<T>): Promise<T | undefined> {
  if (redis.status !== 'ready') return undefined;
  try {
    return await withTimeout(work(), timeoutMs);
  } catch {
    return undefined;
  }
}

/**
 * Takes a point from each limit in order, in one round trip, until one refuses; returns
 * the counts up to and including the refusing one (consumed > points), or undefined
 * when Redis did not answer in time and nothing is known to be counted.
 */
export async function countLimits(redis: Redis, limits: readonly StoredLimit[], timeoutMs: number): Promise<StoredCount[] | undefined> {
  if (limits.length === 0) return [];
  const args = limits.flatMap((limit) => [String(limit.points), String(limit.seconds), limit.handsBack ? '1' : '0']);
  const replies = await answerWithin(redis, timeoutMs, () => redis.rlCountLimits(limits.length, ...limits.map((limit) => limit.key), ...args));
  if (!replies) return undefined;
  return Array.from({ length: replies.length / 2 }, (_, i) => ({ consumed: Number(replies[2 * i]), msBeforeNext: Number(replies[2 * i + 1]) }));
}

/** Gives a point back to each of `refund` and deletes the `clear` keys, in one round trip; false when Redis did not answer in time. */
export async function releaseLimits(redis: Redis, refund: readonly StoredLimit[], clear: readonly string[], timeoutMs: number): Promise<boolean> {
  if (refund.length + clear.length === 0) return true;
  const keys = [...refund.map((limit) => limit.key), ...clear];
  const args = [String(refund.length), ...refund.map((limit) => String(limit.seconds))];
  return (await answerWithin(redis, timeoutMs, () => redis.rlReleaseLimits(keys.length, ...keys, ...args))) !== undefined;
}
