import argon2 from 'argon2';
import { ConcurrencyLimiter, LimiterClosedError, QueueFullError } from '../concurrency-limiter.js';
import { AppError } from '../errors.js';

export interface HashingOptions {
  concurrency: number;
  queueLimit: number;
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
}

/** What the hasher reports as it works (the process's metrics, shared/metrics/hashing-collector.ts). */
export interface HashingObserver {
  /** A hash got its slot after waiting this long in the queue (0 when a slot was free). */
  waited(seconds: number): void;
  /** A hash was refused with 503 because the queue was full. */
  refused(): void;
}

/**
 * argon2id hashing with bounded concurrency. Each hash holds memoryKiB of RAM and a
 * libuv thread, so at most `concurrency` run at once and a bounded queue waits;
 * beyond it callers get 503 unavailable with Retry-After instead of exhausting memory.
 * Once closed (shutdown), waiting and later callers get the same 503.
 */
export class PasswordHasher {
  private readonly limiter: ConcurrencyLimiter;
  private readonly params: { type: 2; memoryCost: number; timeCost: number; parallelism: number };
  private dummyHash: Promise<string> | undefined;

  constructor(
    options: HashingOptions,
    private readonly observer?: HashingObserver,
  ) {
    this.limiter = new ConcurrencyLimiter(options.concurrency, options.queueLimit);
    this.params = { type: argon2.argon2id, memoryCost: options.memoryKiB, timeCost: options.timeCost, parallelism: options.parallelism };
  }

  hash(password: string): Promise<string> {
    return this.limited(() => argon2.hash(password, this.params));
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.limited(() => argon2.verify(hash, password).catch(() => false));
  }

  /**
   * Verifies against a fixed hash with the current parameters, so a login for an
   * unknown email costs the same time as one with a wrong password.
   */
  async verifyDummy(password: string): Promise<void> {
    this.dummyHash ??= argon2.hash('dummy password for timing equality', this.params);
    await this.verify(await this.dummyHash, password);
  }

  /**
   * Refuses the hashing still waiting for a slot, and any later, with 503 unavailable:
   * on shutdown, requests queued behind a login flood are answered at once instead of
   * being hashed one by one (or reaching a closed pool). Running hashes finish.
   */
  close(): void {
    this.limiter.close();
  }

  /** Hashes waiting for a slot now. */
  get queueDepth(): number {
    return this.limiter.queued;
  }

  /** True when a stored hash was made with other parameters and should be upgraded. */
  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, this.params);
    } catch {
      return true;
    }
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    const queuedAt = performance.now();
    try {
      return await this.limiter.run(() => {
        this.observer?.waited((performance.now() - queuedAt) / 1000);
        return task();
      });
    } catch (error) {
      // Shutdown refusals (LimiterClosedError) are not the hashing limit at work: not counted.
      if (error instanceof QueueFullError) this.observer?.refused();
      if (error instanceof QueueFullError || error instanceof LimiterClosedError) {
        throw new AppError('unavailable', { headers: { 'Retry-After': '1' } });
      }
      throw error;
    }
  }
}
