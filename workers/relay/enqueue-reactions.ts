import type { Redis } from 'ioredis';
import type { Reaction } from '../../shared/db/queries/reactions.js';
import { enqueueReaction, type Queues } from '../../shared/queues/queues.js';
import type { EnqueuedMarks } from './enqueued-marks.js';

export interface ReactionProducer {
  /** A fail-fast connection (no offline queue, one retry, a command timeout). */
  redis: Redis;
  /** BullMQ queues over that connection. */
  queues: Queues;
  /** Where the added reactions are stamped enqueued, in batches. */
  marks: EnqueuedMarks;
}

export interface EnqueueResult {
  added: number;
  /** Why some were not added; they stay un-enqueued for the sweeper. */
  error?: string;
}

/**
 * Adds the reactions' jobs (deterministic ids: a duplicate is a no-op) and hands those
 * added to be stamped enqueued. When Redis is away it adds nothing and returns at once, so it never holds up
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
  producer.marks.add(added);
  return { added: added.length, error: rejected ? String((rejected.reason as Error)?.message ?? rejected.reason) : undefined };
}
