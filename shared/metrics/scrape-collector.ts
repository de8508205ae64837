import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { withTimeout } from '../with-timeout.js';

/** A scrape waits this long at most for the state it reports (Redis or PostgreSQL away must not hang it). */
export const SCRAPE_TIMEOUT_MS = 2_000;

export type Sample<L extends string> = { labels: Partial<Record<L, string>>; value: number };

export interface ScrapeGaugeSpec<T, L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** The gauge's samples from one reading of the state. */
  samples(state: T): Array<Sample<L>>;
}

/** Gauges registered by registerScrapeGauges; remove() takes them off the registry (the owner stopped). */
export interface ScrapeGauges {
  remove(): void;
}

/**
 * Gauges whose values are read when Prometheus scrapes, from one `read()` shared by all
 * of them per scrape (the registry collects every metric at once). A read that fails or
 * takes longer than SCRAPE_TIMEOUT_MS gives no values for that scrape (a labelled gauge
 * has no samples, an unlabelled one is NaN: never a 0 that would read as "no backlog")
 * and logs a warning, once per outage; the rest of /metrics is still served.
 */
export function registerScrapeGauges<T, L extends string>(
  registry: Registry,
  source: string,
  read: () => Promise<T>,
  specs: Array<ScrapeGaugeSpec<T, L>>,
  log: Logger,
): ScrapeGauges {
  let current: Promise<T | undefined> | undefined;
  let failing = false;
  const readOnce = (): Promise<T | undefined> => {
    current ??= withTimeout(read(), SCRAPE_TIMEOUT_MS)
      .then((state) => {
        if (failing) log.info({ source }, 'metrics source answers again');
        failing = false;
        return state;
      })
      .catch((error: unknown) => {
        if (!failing) log.warn({ source, reason: (error as Error).message }, 'metrics source did not answer; its gauges are left out of the scrape');
        failing = true;
        return undefined;
      })
      // Every gauge's collect() of one scrape is called in the same pass, before this settles.
      .finally(() => (current = undefined));
    return current;
  };
  for (const spec of specs) {
    // Registering is all a scrape gauge needs: the registry calls its collect().
    new Gauge<L>({
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames ?? [],
      registers: [registry],
      async collect() {
        const state = await readOnce();
        this.reset();
        if (state === undefined) {
          if ((spec.labelNames ?? []).length === 0) this.set(Number.NaN);
          return;
        }
        for (const sample of spec.samples(state)) this.set(sample.labels, sample.value);
      },
    });
  }
  return {
    remove() {
      for (const spec of specs) registry.removeSingleMetric(spec.name);
    },
  };
}
