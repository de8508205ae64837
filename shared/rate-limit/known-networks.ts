import type { Redis } from 'ioredis';
import type { RateLimitAction, RateLimitSettings } from '../config/rate-limit-settings.js';
import type { Logger } from '../logger.js';
import { TimeoutError, withTimeout } from '../with-timeout.js';
import { networkLimitKey } from './client-keys.js';

/** How long the known-network check may take before it counts as "not known". */
const KNOWN_NETWORK_TIMEOUT_MS = 1_000;

/** How long a network that proved the owner (a completed password reset) keeps an account budget of its own. */
const PROVEN_OWNER_SECONDS = 30 * 86_400;

/**
 * The networks (IP prefixes) an account knows, which the account limit counts apart
 * (RateLimits): one that proved the owner, recorded here, or one the caller knows (a
 * past sign-in from it, in login_attempts).
 */
export class KnownNetworks {
  constructor(
    private readonly redis: Redis,
    private readonly settings: Pick<RateLimitSettings, 'prefix' | 'redisTimeoutMs'>,
  ) {}

  /** Records that `network` proved the owner of the account for PROVEN_OWNER_SECONDS. One key per proof (and the proofs are limited themselves). */
  async prove(action: RateLimitAction, accountId: string, network: string): Promise<void> {
    await this.redis.set(this.provenOwnerKey(action, accountId, network), '1', 'EX', PROVEN_OWNER_SECONDS);
  }

  /** The client's network proved the owner (prove), or the caller knows it. */
  async isKnown(action: RateLimitAction, accountId: string, ip: string | undefined, question: () => Promise<boolean>, log: Logger): Promise<boolean> {
    const key = this.provenOwnerKey(action, accountId, networkLimitKey(ip));
    const proven = await this.asks(async () => (await this.redis.exists(key)) > 0, log, this.settings.redisTimeoutMs);
    return proven || this.asks(question, log);
  }

  private provenOwnerKey(action: RateLimitAction, accountId: string, network: string): string {
    return `{${this.settings.prefix}}:rl:${action}:owner:${accountId}|${network}`;
  }

  /** A question that cannot be answered in time (the database is away or slow, the input is garbage) is a no. */
  private async asks(question: () => Promise<boolean>, log: Logger, timeoutMs = KNOWN_NETWORK_TIMEOUT_MS): Promise<boolean> {
    try {
      return await withTimeout(question(), timeoutMs);
    } catch (error) {
      if (!(error instanceof TimeoutError)) log.warn({ reason: (error as Error).message }, 'known-network check failed; the account limit holds');
      return false;
    }
  }
}
