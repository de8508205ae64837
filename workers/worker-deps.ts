import type { QueueSet } from '../shared/queues/queue-set.js';
import type { Services } from '../shared/services.js';

/** What every worker role gets: the process's services plus the consumer side of the queues. */
export interface WorkerDeps extends Services {
  /** createQueueSet(..., 'consumer'): BullMQ workers use its connection, follow-ups are added to its queues. */
  queueSet: QueueSet;
}
