import type { Redis } from 'ioredis';
import type { Queues } from '../shared/queues/queues.js';
import type { Services } from '../shared/services.js';

/** What every worker role gets: the process's services plus the queue side of Redis. */
export interface WorkerDeps extends Services {
  /** For BullMQ workers: retries forever (maxRetriesPerRequest: null), as BullMQ requires. */
  workerRedis: Redis;
  queues: Queues;
}
