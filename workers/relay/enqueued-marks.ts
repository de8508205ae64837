import type { Pool } from '../../shared/db/pool.js';
import { markReactionsEnqueued, type ReactionKey } from '../../shared/db/queries/reactions.js';
import type { Logger } from '../../shared/logger.js';

/**
 * How long an added job's reaction waits for others before its enqueued_at is stamped.
 * At a steady trickle of events the lane adds a job or two at a time, and stamping each
 * handful cost an UPDATE per event. The stamp only tells the sweeper a reaction's job was
 * added; the sweeper leaves reactions younger than FRESH_SECONDS (10 s) to the lane, so
 * a stamp this late changes nothing it does.
 */
const MARK_LINGER_MS = 250;
/** Reactions stamped in one UPDATE at most. */
const MAX_MARKS = 1_000;

/**
 * Stamps enqueued_at on the reactions whose jobs the lane added, gathered into one UPDATE
 * every MARK_LINGER_MS. A stamp that is lost (a failed UPDATE, a crash before the flush)
 * leaves its reaction looking never enqueued: the sweeper adds its job again after
 * FRESH_SECONDS, a no-op under the same job id, or a rerun that finds it done.
 */
export class EnqueuedMarks {
  private keys: ReactionKey[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly flushing = new Set<Promise<void>>();

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
  ) {}

  add(keys: ReactionKey[]): void {
    if (keys.length === 0) return;
    this.keys.push(...keys.map(({ event_id, job_name }) => ({ event_id, job_name })));
    if (this.keys.length >= MAX_MARKS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), MARK_LINGER_MS);
  }

  /** Stamps what is gathered now, and waits for the stamps already under way. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const keys = this.keys.splice(0);
    if (keys.length > 0) {
      const stamping = markReactionsEnqueued(this.pool, keys).catch((error: Error) =>
        this.log.warn({ reason: error.message, reactions: keys.length }, 'could not record enqueued reactions; the sweeper will add them again'),
      );
      this.flushing.add(stamping);
      void stamping.finally(() => this.flushing.delete(stamping));
    }
    await Promise.all(this.flushing);
  }
}
