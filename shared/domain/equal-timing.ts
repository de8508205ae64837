import { setTimeout as sleep } from 'node:timers/promises';

/** How many recent runs the target time is taken from. */
const WINDOW = 128;
/** The target is this quantile of the recent runs' durations... */
const QUANTILE = 0.95;
/** ...with this much headroom, so that nearly every run ends before it... */
const HEADROOM = 1.5;
/** ...and never more than this: a stall must not make every answer after it slow. */
const MAX_TARGET_MS = 250;

/**
 * Work whose duration must not tell which path it took (POST /password/forgot: an
 * existing address locks its row and writes an event, an unknown one does not). Each run
 * is padded to one target time, the 95th percentile of the recent runs of every path
 * with some headroom, so both paths answer at the same time but for the slowest few;
 * the target follows the machine's speed instead of a guess. Per process: the runs of
 * one process are the ones a client can time against each other.
 */
export class EqualTiming {
  private readonly recent: number[] = [];
  private next = 0;

  /** Runs `work` and answers at the target time after `started` (performance.now() when the request arrived). */
  async run<T>(work: () => Promise<T>, started = performance.now()): Promise<T> {
    const result = await work();
    const took = performance.now() - started;
    const target = this.target();
    this.record(took);
    if (target > took) await sleep(target - took);
    return result;
  }

  private target(): number {
    if (this.recent.length === 0) return 0;
    const sorted = [...this.recent].sort((a, b) => a - b);
    const quantile = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * QUANTILE))]!;
    return Math.min(MAX_TARGET_MS, quantile * HEADROOM);
  }

  private record(ms: number): void {
    if (this.recent.length < WINDOW) this.recent.push(ms);
    else this.recent[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
  }
}
