import { connectBroker } from '../../shared/broker/connect-broker.js';
import { releaseAllOutboxLeases } from '../../shared/db/queries/outbox.js';
import { Gauge } from 'prom-client';
import { METRICS_PREFIX } from '../../shared/metrics/metrics.js';
import { registerOutboxCollector } from '../../shared/metrics/outbox-collector.js';
import type { Component } from '../../shared/process/boot.js';
import { createQueueSet } from '../../shared/queues/queue-set.js';
import type { Services } from '../../shared/services.js';
import { clearFinishedReactionJobs } from './clear-finished-jobs.js';
import { drainOutbox, type DrainContext } from './drain-outbox.js';
import { enqueueReactions } from './enqueue-reactions.js';
import { EnqueuedMarks } from './enqueued-marks.js';
import { acquireLeadership, type Leadership } from './leader-lock.js';
import { ReactionLane } from './reaction-lane.js';
import { startReactionSweeper } from './reaction-sweeper.js';
import { RelayChannel } from './relay-channel.js';
import { WakeSignal } from './wake-signal.js';

/** How long reaction enqueueing yields to a backlog being published, at most. */
const LANE_MAX_DEFER_MS = 5_000;
/** Reactions the lane holds in memory at most (about 1 KB each); the sweeper has the rest. */
const LANE_MAX_PENDING = 50_000;

/**
 * The relay role: the only way out of the outbox (DESIGN.md, "The spine: the outbox").
 * Every relay process waits for the leader lock; the leader LISTENs on `outbox`,
 * publishes batches to RabbitMQ on a confirm channel, marks them, enqueues their
 * reactions and sweeps overdue ones. Losing the lock (its session died) sends it back to
 * standing by. Stop: finish the batches in flight (bounded), release the lock, close.
 * Its process's /metrics carries the outbox and reaction backlog gauges.
 */
export async function startRelay(deps: Pick<Services, 'config' | 'log' | 'pool' | 'metrics'>): Promise<Component> {
  const { config, pool, metrics } = deps;
  const settings = config.relay;
  const log = deps.log.child({ role: 'relay' });

  // The producer side fails fast: Redis being away must never hold up publishing. Its
  // outages are reported by the reaction lane, once.
  const queueSet = createQueueSet(config, log, 'producer');
  const { connection: redis, queues } = queueSet;
  const broker = await connectBroker(config.rabbitmqUrl, log, 'user-services-relay');
  const backlog = { active: false };
  const marks = new EnqueuedMarks(pool, log);
  const lane = new ReactionLane({
    enqueue: (reactions) => enqueueReactions({ redis, queues, marks }, reactions),
    log,
    deferWhile: () => backlog.active,
    maxDeferMs: LANE_MAX_DEFER_MS,
    maxPending: LANE_MAX_PENDING,
  });
  const abort = new AbortController();
  const backlogGauges = registerOutboxCollector(metrics.registry, pool, log);
  const leaderGauge = new Gauge({
    name: `${METRICS_PREFIX}relay_leader`,
    help: '1 while this relay holds the leader lock and publishes the outbox, 0 while it stands by.',
    registers: [metrics.registry],
  });
  leaderGauge.set(0);
  const ctx: DrainContext = {
    pool,
    metrics,
    relay: new RelayChannel(broker, log),
    lane,
    backlog,
    wake: new WakeSignal(),
    settings,
    anomaly: config.anomaly,
    log,
    stopped: new Promise((resolve) => abort.signal.addEventListener('abort', () => resolve())),
    isStopping: () => abort.signal.aborted,
  };

  async function lead(leadership: Leadership): Promise<void> {
    log.info('relay acquired the leader lock; publishing the outbox');
    leaderGauge.set(1);
    leadership.client.on('notification', () => ctx.wake.wake());
    void leadership.lost.then((reason) => {
      if (!abort.signal.aborted) log.warn({ reason }, 'relay lost the leader lock; standing by');
      ctx.wake.wake();
    });
    const sweeper = startReactionSweeper({
      pool,
      lane,
      // Redis away: nothing to clear, and the lane reports the outage once.
      clearFinished: async (reactions) => (redis.status === 'ready' ? clearFinishedReactionJobs(queues, reactions) : 0),
      log,
      timeoutSeconds: settings.reactionTimeoutSeconds,
      intervalMs: settings.reactionSweepIntervalMs,
    });
    try {
      await leadership.client.query('LISTEN outbox');
      const freed = await releaseAllOutboxLeases(leadership.client);
      if (freed > 0) log.info({ rows: freed }, 'took over rows leased by an earlier leader');
      await drainOutbox(ctx, leadership);
    } finally {
      await sweeper.stop();
      await leadership.release();
      leaderGauge.set(0);
    }
  }

  const running = (async () => {
    const lockOptions = { url: config.database.url, retryMs: settings.standbyRetryMs, silenceTimeoutMs: settings.leaderTimeoutMs, log };
    while (!abort.signal.aborted) {
      const leadership = await acquireLeadership(lockOptions, abort.signal);
      if (!leadership) break;
      await lead(leadership).catch(async (error: Error) => {
        log.error({ err: error }, 'relay leader loop failed; standing by');
        await new Promise((resolve) => setTimeout(resolve, settings.standbyRetryMs));
      });
    }
  })();

  return {
    name: 'relay',
    async stop() {
      abort.abort();
      ctx.wake.wake();
      await running;
      await lane.drain(2_000);
      await marks.flush();
      await broker.close().catch(() => undefined);
      await queueSet.close();
      backlogGauges.remove();
      metrics.registry.removeSingleMetric(`${METRICS_PREFIX}relay_leader`);
      log.info('relay stopped');
    },
  };
}
