import type { Config } from '../../shared/config/config.js';

/** One batched purge: deletes up to `limit` rows and says how many it removed. */
export type Batch = (limit: number) => Promise<number>;

/** MAINTENANCE_BATCH_SIZE and MAINTENANCE_STATEMENT_MS. */
export type PurgeBatchLimits = Config['maintenance']['batches'];

/** The first statement's size: small, so a cold cache on a large table cannot make it long. */
const FIRST_BATCH = 100;
/** A batch never shrinks below this, however slow the disk. */
const MIN_BATCH = 10;

/**
 * The size of the next purge statement, from how long the last one took: rows per
 * millisecond observed, times the time allowed, at most doubling or halving a step.
 * Deleting a row costs little when its index pages are cached and much more on a large
 * table whose pages must be read from disk, so a fixed row count holds locks three
 * times longer on a full database than on an empty one; a time budget holds them about
 * as long on both.
 */
export function nextBatchSize(last: { rows: number; limit: number; ms: number }, limits: PurgeBatchLimits): number {
  const fitting = last.ms > 0 ? (last.rows * limits.statementMs) / last.ms : Infinity;
  const next = Math.min(last.limit * 2, Math.max(Math.floor(last.limit / 2), Math.floor(fitting)));
  return Math.max(Math.min(MIN_BATCH, limits.maxRows), Math.min(limits.maxRows, next));
}

/**
 * Runs a batch until it comes back short, so a backlog is removed in many short
 * statements, each sized to take about `statementMs`.
 */
export async function drain(batch: Batch, limits: PurgeBatchLimits): Promise<number> {
  let total = 0;
  let limit = Math.min(FIRST_BATCH, limits.maxRows);
  for (;;) {
    const started = performance.now();
    const rows = await batch(limit);
    total += rows;
    if (rows < limit) return total;
    limit = nextBatchSize({ rows, limit, ms: performance.now() - started }, limits);
  }
}
