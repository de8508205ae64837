import { performance } from 'node:perf_hooks';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import type { PublishOutcome } from './publish-batch.js';
import type { ReactionLane } from './reaction-lane.js';
import { settleBatch, type SettleSettings } from './settle-batch.js';

interface Waiting {
  outcome: PublishOutcome;
  done: () => void;
}

/**
 * Settles published batches one transaction at a time: batches confirmed while a
 * transaction runs are merged into the next (a group commit), so a backlog costs few,
 * larger transactions instead of many small ones contending for PostgreSQL.
 */
export class BatchSettler {
  private waiting: Waiting[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly lane: ReactionLane,
    private readonly log: Logger,
    private readonly settings: SettleSettings,
  ) {}

  /** Resolves once the batch is settled (or failed to be, logged); never rejects. */
  settle(outcome: PublishOutcome): Promise<void> {
    return new Promise((done) => {
      this.waiting.push({ outcome, done });
      this.running ??= this.run().finally(() => (this.running = undefined));
    });
  }

  private async run(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      const outcome: PublishOutcome = {
        confirmed: group.flatMap((item) => item.outcome.confirmed),
        failures: group.flatMap((item) => item.outcome.failures),
      };
      await this.settleGroup(outcome, group.length);
      for (const item of group) item.done();
    }
  }

  private async settleGroup(outcome: PublishOutcome, batches: number): Promise<void> {
    const { log } = this;
    const started = performance.now();
    try {
      const settled = await settleBatch(this.pool, outcome, this.settings);
      log.debug(
        { batches, published: outcome.confirmed.length, failed: outcome.failures.length, settle_ms: Math.round(performance.now() - started) },
        'outbox batches settled',
      );
      const counted = new Set(outcome.failures.filter((failure) => failure.counts).map((failure) => failure.id));
      for (const row of settled.failed) {
        const fields = { event_id: row.event_id, type: row.type, attempts: row.attempts, last_error: row.last_error };
        if (row.failed_at) log.warn(fields, 'outbox event set aside after repeated failures; replay it with `npm run outbox:replay -- <event_id>`');
        else if (counted.has(row.id)) log.warn(fields, 'outbox event failed to publish; retrying with backoff');
      }
      this.lane.push(settled.reactions);
    } catch (error) {
      log.error(
        { reason: (error as Error).message, rows: outcome.confirmed.length + outcome.failures.length },
        'could not record published batches; their rows go out again once their lease lapses',
      );
    }
  }
}
