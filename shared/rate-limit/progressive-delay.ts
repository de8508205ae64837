import type { RateLimitKey, RateLimitSettings } from '../config/rate-limit-settings.js';

/** What one limit counted for a request. */
export interface CountedLimit {
  key: RateLimitKey;
  points: number;
  consumed: number;
}

/**
 * Progressive delay: once an account's limit (account, ip_account) has counted a
 * quarter of its points in failures (at least one; the first one, with the defaults),
 * each further counted request waits baseMs, doubled per failure, up to maxMs, so a
 * person who mistypes waits seconds and gets in while guessing slows down until the
 * 429. The IP limit, shared by everyone behind one address, delays only past half of
 * its points. Fractions of the points, so a raised RATE_LIMIT_SCALE moves them along.
 */
export function progressiveDelayMs(counted: readonly CountedLimit[], { baseMs, maxMs }: RateLimitSettings['delay']): number {
  const startsAfter = ({ key, points }: CountedLimit) => (key === 'ip' ? Math.floor(points / 2) : Math.max(1, Math.floor(points / 4)));
  const over = Math.max(-1, ...counted.map((limit) => limit.consumed - 1 - startsAfter(limit)));
  if (over < 0 || baseMs === 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(over, 20));
}
