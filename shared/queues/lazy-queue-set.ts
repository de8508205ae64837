import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { loadOnce } from '../load-once.js';
import type { QueueSide } from './queue-set.js';
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
  const load = loadOnce(async () => (await import('./queue-set.js')).createQueueSet(config, log, side));
  let asked = false;
  return {
    async queues() {
      asked = true;
      return (await load()).queues;
    },
    async close() {
      if (asked) await (await load().catch(() => undefined))?.close();
    },
  };
}
