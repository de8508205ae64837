import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { checkRedisEviction } from './check-redis-eviction.js';
import { closeQueues, createQueues, type Queues } from './queues.js';

/**
 * Which side of the queues a connection serves. A consumer (BullMQ workers, blocking on
 * Redis) must retry for ever, as BullMQ requires; a producer (the relay, the API)
 * must fail fast, so that Redis being away never holds up publishing or a request.
 */
export type QueueSide = 'consumer' | 'producer';

const CONNECTION_OPTIONS: Record<QueueSide, RedisOptions> = {
  consumer: { maxRetriesPerRequest: null },
  // Many job adds at once: one socket write per tick instead of one per command.
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5_000, enableAutoPipelining: true },
};

/** The queues of one process side over their own Redis connection. */
export interface QueueSet {
  connection: Redis;
  queues: Queues;
  /** Closes the queues, then the connection. */
  close(): Promise<void>;
}

/**
 * The one way a process builds its queues (QUEUE_PREFIX) and their Redis connection.
 * It connects in the background: nothing waits for Redis here. Every (re)connection
 * checks maxmemory-policy, since a Redis that comes back may be another one. Outages
 * are reported by the users of the set (each worker's 'error' listener, the relay's
 * reaction lane), once, rather than per queue and retry here.
 */
export function createQueueSet(config: Pick<Config, 'redisUrl' | 'queuePrefix'>, log: Logger, side: QueueSide): QueueSet {
  const connection = new Redis(config.redisUrl, { ...CONNECTION_OPTIONS[side], lazyConnect: true });
  connection.on('error', () => undefined);
  connection.on('ready', () => void checkRedisEviction(connection, log));
  connection.connect().catch((error: Error) => log.warn({ side, reason: error.message }, 'Redis is not reachable yet; its queues will wait for it'));
  const queues = createQueues(connection, config.queuePrefix);
  // Without a listener of their own the queues would print every failed reconnect to stderr, outside the JSON log.
  for (const queue of Object.values(queues)) queue.on('error', () => undefined);
  return {
    connection,
    queues,
    async close() {
      await closeQueues(queues).catch(() => undefined);
      connection.disconnect();
    },
  };
}
