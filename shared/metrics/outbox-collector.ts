import type { Registry } from 'prom-client';
import type { Queryable } from '../db/pool.js';
import { readOutboxBacklog, type OutboxBacklog } from '../db/queries/outbox-backlog.js';
import type { Logger } from '../logger.js';
import { METRICS_PREFIX } from './metrics.js';
import { registerScrapeGauges, type ScrapeGauges } from './scrape-collector.js';

const gauge = (name: string, help: string, value: (backlog: OutboxBacklog) => number) => ({
  name: `${METRICS_PREFIX}${name}`,
  help,
  samples: (backlog: OutboxBacklog) => [{ labels: {}, value: value(backlog) }],
});

/** The outbox and reaction backlog gauges (readOutboxBacklog, one statement per scrape): the relay role's. */
export function registerOutboxCollector(registry: Registry, db: Queryable, log: Logger): ScrapeGauges {
  return registerScrapeGauges(
    registry,
    'outbox',
    () => readOutboxBacklog(db),
    [
      gauge('outbox_unpublished_rows', 'Outbox rows waiting to be published.', (b) => b.unpublished),
      gauge('outbox_set_aside_rows', 'Outbox rows set aside after too many failed publishes, waiting for a replay.', (b) => b.setAside),
      gauge('outbox_oldest_unpublished_age_seconds', 'Age of the oldest outbox row waiting to be published (0 when none waits).', (b) => b.oldestUnpublishedAgeSeconds),
      gauge('reactions_pending', 'Reactions (mail, audit, scoring jobs) recorded and not completed yet.', (b) => b.reactionsPending),
      gauge('reactions_given_up', 'Reactions given up as never able to succeed, waiting for a replay.', (b) => b.reactionsGivenUp),
    ],
    log,
  );
}
