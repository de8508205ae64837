import type { Config } from '../../shared/config/config.js';
import type { Pool } from '../../shared/db/pool.js';
import { claimOutboxBatch, releaseOutboxRows, type ClaimedOutboxRow } from '../../shared/db/queries/outbox.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics/metrics.js';
import type { Leadership } from './leader-lock.js';
import { BatchSettler } from './batch-settler.js';
import { claimScoring } from './settle-batch.js';
import { publishBatch, type PublishOutcome } from './publish-batch.js';
import type { ReactionLane } from './reaction-lane.js';
import type { RelayChannel } from './relay-channel.js';
import type { WakeSignal } from './wake-signal.js';

export interface DrainContext {
  pool: Pool;
  /** relay_published_total and relay_confirm_duration_seconds. */
  metrics: Pick<Metrics, 'relayPublished' | 'relayConfirmDuration'>;
  relay: RelayChannel;
  lane: ReactionLane;
  /** Whether the last claim came back full: the relay is draining a backlog. */
  backlog: { active: boolean };
  wake: WakeSignal;
  settings: Config['relay'];
  /** How sign-ins are scored: the mark scores the plain ones (settleBatch). */
  anomaly: Config['anomaly'];
  log: Logger;
  /** Resolves when the relay is asked to stop. */
  stopped: Promise<void>;
  isStopping(): boolean;
}

/** publishBatch, counted: rows confirmed and failed, and how long the batch took to settle. */
function timedPublish(ctx: DrainContext, rows: ClaimedOutboxRow[]): Promise<PublishOutcome> {
  const end = ctx.metrics.relayConfirmDuration.startTimer();
  return publishBatch(ctx.relay, rows, ctx.settings.confirmTimeoutMs).then((outcome) => {
    end();
    ctx.metrics.relayPublished.inc({ result: 'confirmed' }, outcome.confirmed.length);
    ctx.metrics.relayPublished.inc({ result: 'failed' }, outcome.failures.length);
    return outcome;
  });
}

/** How long a stopping relay waits for the batches in flight. */
const STOP_WAIT_MS = 5_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The leader's loop: claim a batch (on the lock's own session, so only while the lock is
 * held), publish it, settle it in a second transaction; up to inflightBatches batches
 * await their confirms at once. Claims nothing while the broker is away. Sleeps until a
 * NOTIFY or the sweep interval when the outbox is empty. Returns when the lock is lost or
 * the relay stops, after the batches in flight (bounded).
 */
export async function drainOutbox(ctx: DrainContext, leadership: Leadership): Promise<void> {
  const { settings, log, wake } = ctx;
  // Batches awaiting their confirms, and batches waiting to be marked: each set holds at
  // most inflightBatches, so the broker's window does not wait on PostgreSQL and vice versa.
  const publishing = new Set<Promise<unknown>>();
  const settling = new Set<Promise<unknown>>();
  const settler = new BatchSettler(ctx.pool, ctx.lane, log, { maxAttempts: settings.maxAttempts, anomaly: ctx.anomaly });
  const track = (set: Set<Promise<unknown>>, task: Promise<unknown>) => {
    set.add(task);
    const forget = () => void set.delete(task);
    task.then(forget, forget);
  };
  // The claim reads the login events' features too: the mark scores the plain ones (settleBatch).
  const scoring = claimScoring(ctx.anomaly);
  const interrupted = Promise.race([ctx.stopped, leadership.lost]).then(() => undefined);
  const active = () => leadership.isHeld() && !ctx.isStopping();
  /** Claims the next batch; undefined after a failure (logged). */
  const claim = async (): Promise<ClaimedOutboxRow[] | undefined> => {
    try {
      return await claimOutboxBatch(leadership.client, settings.batchSize, settings.leaseSeconds, scoring);
    } catch (error) {
      if (leadership.isHeld()) {
        log.warn({ reason: (error as Error).message }, 'claiming outbox rows failed; retrying');
        await sleep(500);
      }
      return undefined;
    }
  };
  let next: Promise<ClaimedOutboxRow[] | undefined> | undefined;
  /** A partial batch was claimed: the outbox was empty behind it. */
  let drained = false;

  while (active()) {
    if (!ctx.relay.isOpen()) {
      // Claim nothing while the broker is away.
      const ready = await Promise.race([ctx.relay.open().then(() => true, () => false), interrupted.then(() => false)]);
      if (!ready) {
        if (active()) await sleep(200);
        continue;
      }
    }
    // During a backlog the next batch is claimed while earlier ones await their confirms,
    // so the claim's round trip never leaves the broker idle. After a partial batch the
    // outbox held nothing more when it was claimed: a row committed since has sent its
    // NOTIFY (kept by the level-triggered wake), so claiming again at once would only
    // cost an empty round trip per event.
    if (drained && !next) {
      await wake.wait(settings.sweepIntervalMs);
      drained = false;
      if (!active()) break;
    }
    next ??= claim();
    const full = [publishing, settling].find((set) => set.size >= settings.inflightBatches);
    if (full) {
      await Promise.race(full);
      continue;
    }
    const rows = await next;
    next = undefined;
    if (!rows) continue;
    ctx.backlog.active = rows.length === settings.batchSize;
    if (rows.length === 0) {
      await wake.wait(settings.sweepIntervalMs);
      continue;
    }
    drained = !ctx.backlog.active;
    if (!active()) {
      next = Promise.resolve(rows);
      break;
    }
    log.debug({ rows: rows.length, first_id: rows[0]!.id }, 'claimed outbox batch');
    const published = timedPublish(ctx, rows);
    track(publishing, published);
    void published.then((outcome) => track(settling, settler.settle(outcome)));
  }

  ctx.backlog.active = false;
  let timer: NodeJS.Timeout | undefined;
  const finished = (async () => {
    // A batch claimed ahead but never published goes back at once.
    const unpublished = await next;
    if (unpublished?.length) await releaseOutboxRows(ctx.pool, unpublished.map((row) => row.id)).catch(() => undefined);
    await Promise.all(publishing);
    await Promise.all(settling);
  })();
  await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
  clearTimeout(timer);
}
