import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * Queues must not be evicted: Redis should run with maxmemory-policy noeviction.
 * Says so loudly when it does not; where CONFIG is refused (managed Redis) it warns
 * and goes on.
 */
export async function checkRedisEviction(redis: Redis, log: Logger): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy !== 'noeviction') {
      log.error(
        { policy },
        `Redis maxmemory-policy is "${policy}": queued jobs may be evicted. Set "maxmemory-policy noeviction" on this Redis.`,
      );
    }
  } catch (error) {
    log.warn({ reason: (error as Error).message }, 'could not read Redis maxmemory-policy (CONFIG refused?); make sure it is noeviction');
  }
}
