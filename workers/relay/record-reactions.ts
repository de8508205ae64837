import { recordOutboxReactions, type ClaimedOutboxRow } from '../../shared/db/queries/outbox.js';
import type { Reaction } from '../../shared/db/queries/reactions.js';
import type { DomainEvent } from '../../shared/events.js';
import { REACTION_JOBS, type JobName } from '../../shared/queues/jobs.js';
import type { DrainContext } from './drain-outbox.js';

/** The reactions a claim recorded (ClaimedOutboxRow.reactions), with their events as payloads, for the lane. */
export function claimedReactions(rows: ClaimedOutboxRow[]): Reaction[] {
  return rows.flatMap((row) => {
    if (row.reactions.length === 0) return [];
    const event = JSON.parse(row.body) as DomainEvent;
    return row.reactions.map((job_name) => ({ event_id: row.event_id, job_name: job_name as JobName, payload: event }));
  });
}

/**
 * Records the reactions of a batch of events that have none recorded yet (without
 * claiming them for publishing) and hands them to the lane; returns how many. An error
 * is logged and counts as none: the next round tries again.
 */
async function recordReactionBatch(ctx: DrainContext): Promise<number> {
  try {
    const recorded = await recordOutboxReactions(ctx.pool, ctx.settings.batchSize, REACTION_JOBS);
    ctx.lane.push(recorded);
    return recorded.length;
  } catch (error) {
    ctx.log.warn({ reason: (error as Error).message }, 'recording the reactions of unpublished events failed; retrying');
    return 0;
  }
}

/**
 * While the broker is away (until `back` settles): records the reactions of new events
 * a batch at a time, woken by their NOTIFY or every sweep interval, so mail, audit and
 * scoring go on without the broker. Returns what `back` resolves to.
 */
export async function recordReactionsUntil<T>(ctx: DrainContext, back: Promise<T>): Promise<T> {
  let settled = false;
  const done = back.finally(() => {
    settled = true;
    ctx.wake.wake();
  });
  let total = 0;
  while (!settled) {
    const recorded = await recordReactionBatch(ctx);
    total += recorded;
    if (recorded === 0 && !settled) await ctx.wake.wait(ctx.settings.sweepIntervalMs);
  }
  if (total > 0) ctx.log.info({ reactions: total }, 'recorded the reactions of events while the broker was away');
  return done;
}
