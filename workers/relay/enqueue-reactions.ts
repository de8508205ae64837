import type { Redis } from 'ioredis';
import type { Pool } from '../../shared/db/pool.js';
import { markReactionsEnqueued, type Reaction } from '../../shared/db/queries/reactions.js';
import { enqueueReaction, type Queues } from '../../shared/queues/queues.js';

export interface ReactionProducer {
  /** A fail-fast connection (no offline queue, one retry, a command timeout). */
  redis: Redis;
  /** BullMQ queues over that connection. */
  queues: Queues;
  pool: Pool;
}

export interface EnqueueResult {
  added: number;
  /** Why some were not added; they stay un-enqueued for the sweeper. */
  error?: string;
}

/**
 * Adds the reactions' jobs (deterministic ids: a duplicate is a no-op) and marks those
 * added. When Redis is away it adds nothing and returns at once, so it never holds up
 * publishing; the reaction sweeper enqueues them later.
 */
export async function enqueueReactions(producer: ReactionProducer, reactions: Reaction[]): Promise<EnqueueResult> {
  if (reactions.length === 0) return { added: 0 };
  if (producer.redis.status !== 'ready') return { added: 0, error: `Redis is ${producer.redis.status}` };
  const results = await Promise.allSettled(
    reactions.map((reaction) =>
      // As stored with the reaction; the worker's factory parses it.
      enqueueReaction(producer.queues, reaction.job_name, reaction.payload),
    ),
  );
  const added = reactions.filter((_, index) => results[index]!.status === 'fulfilled');
  const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  await markReactionsEnqueued(producer.pool, added);
  return { added: added.length, error: rejected ? String((rejected.reason as Error)?.message ?? rejected.reason) : undefined };
}
