export class QueueFullError extends Error {
  constructor() {
    super('concurrency limiter queue is full');
  }
}

/** The limiter was closed (the process is shutting down): the task was not run. */
export class LimiterClosedError extends Error {
  constructor() {
    super('concurrency limiter is closed');
  }
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Runs at most `concurrency` tasks at once and lets at most `queueLimit` wait; past
 * that, run() rejects at once with QueueFullError, so a flood costs no memory.
 * close() rejects the waiting tasks and every later one with LimiterClosedError;
 * tasks already running finish.
 */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private closed = false;

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) throw new LimiterClosedError();
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw new QueueFullError();
      await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.waiting.shift();
      if (next) next.resolve();
      else this.running--;
    }
  }

  /** Refuses every waiting and later task; the running ones finish. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new LimiterClosedError());
  }
}
