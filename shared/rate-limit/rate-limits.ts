import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import {
  RATE_LIMIT_ACTIONS,
  RATE_LIMIT_KEYS,
  loginFailuresWithinGuardWindow,
  type RateLimitAction,
  type RateLimitKey,
  type RateLimitSettings,
} from '../config/rate-limit-settings.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { accountLimitKey, ipLimitKey, networkLimitKey } from './client-keys.js';
import { rateLimitedError } from './rate-limited-error.js';

/** Who a request is counted against; a limit whose key is not given does not apply. */
export interface RateLimitSubject {
  ip: string | undefined;
  /** The email the request names (any form: it is canonicalised and hashed here). */
  account?: string | undefined;
}

export interface ConsumeOptions {
  /**
   * Asked only when the account limit alone refuses: true (login: the client's network
   * has signed in to the account before) counts the request instead against an account
   * limit of that network's own, with the same points, so guesses from elsewhere cannot
   * spend the owner's, and a whole known network still shares one account budget.
   */
  isKnownNetwork?: () => Promise<boolean>;
  /** Where a limit that cannot be counted is reported: the request's own logger, so the line names the request. */
  log?: Logger;
}

/** How long the known-network check may take before it counts as "not known". */
const KNOWN_NETWORK_TIMEOUT_MS = 1_000;

/** How long a network that proved the owner (a completed password reset) keeps an account budget of its own. */
const PROVEN_OWNER_SECONDS = 30 * 86_400;

/** A counted request: what it consumed, to give back or clear once its outcome is known. */
export interface RateLimitPass {
  /** The progressive delay owed before the work (login only uses it). */
  delayMs: number;
  /** Gives the points back, as if the request had not been counted by these keys. */
  refund(keys?: readonly RateLimitKey[]): Promise<void>;
  /** Clears these keys' counters altogether. */
  reset(keys: readonly RateLimitKey[]): Promise<void>;
}

interface Counted {
  key: RateLimitKey;
  limiter: RLWrapperTimeouts;
  id: string;
  consumed: number;
  points: number;
}

/**
 * The rate limits of every action, counted in Redis so that all API instances share them.
 * Each limit has a per-process in-memory stand-in (rate-limiter-flexible's insurance
 * limiter) that answers while Redis is down or slow, so logins keep working and the
 * limits still hold per process.
 */
export class RateLimits {
  private readonly limiters = new Map<string, { limiter: RLWrapperTimeouts; points: number }>();

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly redis: Redis,
    private readonly log: Logger,
    guard: Pick<Config['anomaly'], 'guardFailures' | 'guardWindowSeconds'>,
  ) {
    const failures = loginFailuresWithinGuardWindow(settings, guard.guardWindowSeconds);
    if (failures >= guard.guardFailures) {
      // Expected under a raised RATE_LIMIT_SCALE (load tests); on a public install it lets the guard lock first.
      log.warn(
        { loginAccountFailures: failures, guardFailures: guard.guardFailures },
        'RATE_LIMIT_LOGIN_ACCOUNT lets enough failures through to guard an account before a 429; keep its points below half of ANOMALY_GUARD_FAILURES',
      );
    }
    for (const action of RATE_LIMIT_ACTIONS) {
      for (const key of RATE_LIMIT_KEYS) {
        const rule = settings.rules[action][key];
        if (!rule) continue;
        const options = { points: rule.points, duration: rule.seconds, keyPrefix: `{${settings.prefix}}:rl:${action}:${key}` };
        const insuranceLimiter = new RateLimiterMemory(options);
        const stored = new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter });
        this.limiters.set(`${action}:${key}`, {
          limiter: new RLWrapperTimeouts({ limiter: stored, timeoutMs: settings.redisTimeoutMs, insuranceLimiter }),
          points: rule.points,
        });
      }
    }
  }

  /**
   * Counts one request of `action` against every limit its subject names. Over any of
   * them: 429 rate_limited with Retry-After (seconds) and the wait in words ("Too many
   * attempts; try again in 15 minutes."), and the points it took from the
   * others are given back, so a refused request costs the client nothing elsewhere.
   *
   * The limits are counted one after another, the IP limit first, and the first that
   * refuses ends the count: a request the IP limit refuses creates no counter for the
   * account it names, so a client sending fresh addresses past its 429 adds no key to
   * Redis, and the memory one client can cause is bounded by its IP limit's points.
   */
  async consume(action: RateLimitAction, subject: RateLimitSubject, options: ConsumeOptions = {}): Promise<RateLimitPass> {
    const log = options.log ?? this.log;
    const counted: Counted[] = [];
    let retryAfterMs = 0;
    for (const target of this.targets(action, subject)) {
      let refusal = await this.consumeOne(target, counted, log, action);
      if (refusal !== undefined && target.key === 'account' && options.isKnownNetwork && (await this.isKnownNetwork(action, target.id, subject.ip, options.isKnownNetwork, log))) {
        refusal = await this.consumeOne({ ...target, id: `${target.id}|${networkLimitKey(subject.ip)}` }, counted, log, action);
      }
      if (refusal !== undefined) {
        retryAfterMs = refusal;
        break;
      }
    }
    const pass = this.pass(counted);
    if (retryAfterMs > 0) {
      await pass.refund();
      throw rateLimitedError(retryAfterMs / 1000);
    }
    return pass;
  }

  /**
   * Takes a point from one limit, adding it to `counted`; the wait in ms when the limit
   * refuses. A limit that cannot be counted at all (Redis and the per-process stand-in
   * both failed) lets the request through rather than fail it.
   */
  private async consumeOne(target: Omit<Counted, 'consumed'>, counted: Counted[], log: Logger, action: RateLimitAction): Promise<number | undefined> {
    try {
      const result = await target.limiter.consume(target.id);
      counted.push({ ...target, consumed: result.consumedPoints });
      return undefined;
    } catch (error) {
      if (error instanceof RateLimiterRes) return Math.max(1, error.msBeforeNext);
      log.warn({ action, key: target.key, reason: String(error) }, 'rate limit could not be counted');
      return undefined;
    }
  }

  /**
   * After a step that proves the account's owner (a completed password reset) from `ip`:
   * the account limit of `action` is cleared, with that network's own budget, and the
   * network counts as known to the account for PROVEN_OWNER_SECONDS, so guesses from
   * elsewhere cannot lock the owner out again before their first sign-in records the
   * network. One key per proof (and the proofs are limited themselves).
   */
  async liftAccountLimit(action: RateLimitAction, account: string, ip: string | undefined, log: Logger = this.log): Promise<void> {
    const found = this.limiters.get(`${action}:account`);
    if (!found) return;
    const id = accountLimitKey(account);
    const network = networkLimitKey(ip);
    try {
      await Promise.all([
        found.limiter.delete(id),
        found.limiter.delete(`${id}|${network}`),
        this.redis.set(this.provenOwnerKey(action, id, network), '1', 'EX', PROVEN_OWNER_SECONDS),
      ]);
    } catch (error) {
      log.warn({ action, reason: String(error) }, 'the account limit could not be lifted after the owner proved themselves');
    }
  }

  private provenOwnerKey(action: RateLimitAction, accountId: string, network: string): string {
    return `{${this.settings.prefix}}:rl:${action}:owner:${accountId}|${network}`;
  }

  /** The client's network proved the owner (liftAccountLimit), or the caller knows it (a past sign-in from it). */
  private async isKnownNetwork(action: RateLimitAction, accountId: string, ip: string | undefined, question: () => Promise<boolean>, log: Logger): Promise<boolean> {
    const proven = await this.asks(async () => (await this.redis.exists(this.provenOwnerKey(action, accountId, networkLimitKey(ip)))) > 0, log, this.settings.redisTimeoutMs);
    return proven || this.asks(question, log);
  }

  /** A question that cannot be answered in time (the database is away or slow, the input is garbage) is a no. */
  private async asks(question: (() => Promise<boolean>) | undefined, log: Logger, timeoutMs = KNOWN_NETWORK_TIMEOUT_MS): Promise<boolean> {
    if (!question) return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([question(), late]);
    } catch (error) {
      log.warn({ reason: (error as Error).message }, 'known-network check failed; the account limit holds');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private targets(action: RateLimitAction, subject: RateLimitSubject) {
    const ip = ipLimitKey(subject.ip);
    const account = subject.account === undefined ? undefined : accountLimitKey(subject.account);
    const ids: Record<RateLimitKey, string | undefined> = {
      ip,
      account,
      ip_account: account === undefined ? undefined : `${ip}|${account}`,
    };
    return RATE_LIMIT_KEYS.flatMap((key) => {
      const found = this.limiters.get(`${action}:${key}`);
      const id = ids[key];
      return found && id !== undefined ? [{ key, limiter: found.limiter, points: found.points, id }] : [];
    });
  }

  /**
   * Progressive delay: once an account's limit (account, ip_account) has counted a
   * quarter of its points in failures (at least one; the first one, with the defaults),
   * each further counted request waits baseMs, doubled per failure, up to maxMs, so a
   * person who mistypes waits seconds and gets in while guessing slows down until the
   * 429. The IP limit, shared by everyone behind one address, delays only past half of
   * its points. Fractions of the points, so a raised RATE_LIMIT_SCALE moves them along.
   */
  private delayFor(counted: Counted[]): number {
    const { baseMs, maxMs } = this.settings.delay;
    const startsAfter = ({ key, points }: Counted) => (key === 'ip' ? Math.floor(points / 2) : Math.max(1, Math.floor(points / 4)));
    const over = Math.max(-1, ...counted.map((limit) => limit.consumed - 1 - startsAfter(limit)));
    if (over < 0 || baseMs === 0) return 0;
    return Math.min(maxMs, baseMs * 2 ** Math.min(over, 20));
  }

  private pass(counted: Counted[]): RateLimitPass {
    const quietly = (work: Promise<unknown>) => work.catch(() => undefined);
    const pick = (keys: readonly RateLimitKey[]) => counted.filter(({ key }) => keys.includes(key));
    return {
      delayMs: this.delayFor(counted),
      refund: async (keys = RATE_LIMIT_KEYS) => {
        await Promise.all(pick(keys).map(({ limiter, id }) => quietly(limiter.reward(id))));
      },
      reset: async (keys) => {
        await Promise.all(pick(keys).map(({ limiter, id }) => quietly(limiter.delete(id))));
      },
    };
  }
}
