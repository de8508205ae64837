import { AppError } from '../errors.js';

/**
 * "30 seconds", "1 minute", "15 minutes", "2 hours": a Retry-After in words, rounded up
 * so that it never promises a shorter wait than the header.
 */
export function describeWait(seconds: number): string {
  const [amount, unit] = seconds < 90 ? [seconds, 'second'] : seconds < 90 * 60 ? [Math.ceil(seconds / 60), 'minute'] : [Math.ceil(seconds / 3600), 'hour'];
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

/**
 * The 429 rate_limited of a spent limit or a cooldown: Retry-After in whole seconds (at
 * least 1) and the same wait in words after `reason`, e.g. "Too many attempts; try again
 * in 15 minutes." The body holds nothing else, so equal waits give byte-equal bodies.
 */
export function rateLimitedError(retryAfterSeconds: number, reason = 'Too many attempts'): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new AppError('rate_limited', { message: `${reason}; try again in ${describeWait(seconds)}.`, headers: { 'Retry-After': String(seconds) } });
}
