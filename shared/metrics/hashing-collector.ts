import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HashingObserver } from '../crypto/password-hasher.js';
import { METRICS_PREFIX } from './metrics.js';

/**
 * The argon2 hashing limit's metrics (HASH_CONCURRENCY, HASH_QUEUE_LIMIT): the queue's
 * depth read at each scrape, the time hashes waited for a slot, and the 503s of a full
 * queue. It is the PasswordHasher's observer; watch() names the hasher whose queue it reads.
 */
export class HashingCollector implements HashingObserver {
  private readonly wait: Histogram;
  private readonly refusals: Counter;
  private depth: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    const readDepth = () => this.depth();
    new Gauge({
      name: `${METRICS_PREFIX}argon2_queue_depth`,
      help: 'Password hashes waiting for a hashing slot (HASH_CONCURRENCY) right now.',
      registers,
      collect() {
        this.set(readDepth());
      },
    });
    this.wait = new Histogram({
      name: `${METRICS_PREFIX}argon2_wait_seconds`,
      help: 'Time a password hash waited for a hashing slot.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.refusals = new Counter({
      name: `${METRICS_PREFIX}argon2_rejected_total`,
      help: 'Requests answered 503 unavailable because the hashing queue (HASH_QUEUE_LIMIT) was full.',
      registers,
    });
  }

  watch(hasher: { readonly queueDepth: number }): void {
    this.depth = () => hasher.queueDepth;
  }

  waited(seconds: number): void {
    this.wait.observe(seconds);
  }

  refused(): void {
    this.refusals.inc();
  }
}
