import type { Reaction } from '../../shared/db/queries/reactions.js';
import type { Logger } from '../../shared/logger.js';
import type { EnqueueResult } from './enqueue-reactions.js';

/** Reactions handed to Redis in one go at most. */
const MAX_CHUNK = 1_000;
/**
 * How long the first reaction of a chunk waits for others: at a steady trickle of events
 * each would otherwise cost a Redis round trip and an UPDATE of its own, on the event
 * loop that publishes. Reactions are not urgent to the millisecond; publishing is.
 */
const LINGER_MS = 25;

export interface ReactionLaneOptions {
  enqueue: (reactions: Reaction[]) => Promise<EnqueueResult>;
  log: Logger;
  /** True while the relay drains a backlog: enqueueing then waits, at most maxDeferMs. */
  deferWhile: () => boolean;
  maxDeferMs: number;
  /** Reactions held at most; newer ones are left to the sweeper. */
  maxPending: number;
}

/**
 * Enqueues reactions after their batch committed, one chunk at a time, off the
 * publishing path: a slow or absent Redis never holds up the relay. While the relay
 * drains a backlog, publishing goes first: a chunk waits until the backlog is gone or it
 * has waited maxDeferMs, so the two share the CPU without starving either. Past
 * maxPending, newer reactions are left to the reaction sweeper (they are recorded in
 * PostgreSQL and not enqueued, so it picks them up).
 */
export class ReactionLane {
  private pending: Reaction[] = [];
  private oldestAt = 0;
  private running: Promise<void> | undefined;
  private redisDown = false;

  constructor(private readonly options: ReactionLaneOptions) {}

  push(reactions: Reaction[]): void {
    if (reactions.length === 0) return;
    if (this.pending.length + reactions.length > this.options.maxPending) {
      this.options.log.debug({ reactions: reactions.length }, 'reaction lane full; the sweeper will enqueue these');
      return;
    }
    if (this.pending.length === 0) this.oldestAt = Date.now();
    this.pending.push(...reactions);
    this.running ??= this.run().finally(() => (this.running = undefined));
  }

  /** Waits, at most `timeoutMs`, for what is queued to be enqueued. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    const { enqueue, log, deferWhile, maxDeferMs } = this.options;
    while (this.pending.length > 0) {
      const lingering = LINGER_MS - (Date.now() - this.oldestAt);
      if (lingering > 0 && this.pending.length < MAX_CHUNK) await new Promise((resolve) => setTimeout(resolve, lingering));
      while (deferWhile() && Date.now() - this.oldestAt < maxDeferMs) await new Promise((resolve) => setTimeout(resolve, 50));
      const chunk = this.pending.splice(0, MAX_CHUNK);
      this.oldestAt = Date.now();
      try {
        const result = await enqueue(chunk);
        this.report(result, chunk.length);
        // Redis is away: what is left waits for the sweeper rather than failing one by one.
        if (result.added === 0 && result.error) this.pending = [];
      } catch (error) {
        log.warn({ reason: (error as Error).message, reactions: chunk.length }, 'could not record enqueued reactions; the sweeper will retry');
      }
    }
  }

  private report(result: EnqueueResult, wanted: number): void {
    if (result.error && !this.redisDown) {
      this.options.log.warn(
        { reason: result.error, not_enqueued: wanted - result.added },
        'reactions not enqueued (Redis unavailable?); the sweeper will retry',
      );
    } else if (!result.error && this.redisDown) {
      this.options.log.info('reactions are being enqueued again');
    }
    this.redisDown = result.error !== undefined;
  }
}
