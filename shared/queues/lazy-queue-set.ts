import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { QueueSet, QueueSide } from './queue-set.js';
import type { Queues } from './queues.js';

/** A queue set built on first use, for a process that seldom needs its queues (the web role, for the dashboard). */
export interface LazyQueueSet {
  /** The queues, built (BullMQ loaded, Redis connecting) the first time they are asked for. */
  queues(): Promise<Queues>;
  /** Closes the set if it was ever built. */
  close(): Promise<void>;
}

/**
 * createQueueSet on first use: BullMQ is a tenth of a second of a process's start, and a
 * web process needs its queues only when someone opens the dashboard.
 */
export function lazyQueueSet(config: Pick<Config, 'redisUrl' | 'queuePrefix'>, log: Logger, side: QueueSide): LazyQueueSet {
  let set: Promise<QueueSet> | undefined;
  return {
    async queues() {
      set ??= import('./queue-set.js').then((module) => module.createQueueSet(config, log, side));
      return (await set).queues;
    },
    async close() {
      if (set) await (await set).close();
    },
  };
}
