import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts, type RateLimiterAbstract } from 'rate-limiter-flexible';
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
import { KnownNetworks } from './known-networks.js';
import { countLimits, defineLimitScripts, releaseLimits, type StoredLimit } from './count-limits.js';
import { progressiveDelayMs, type CountedLimit } from './progressive-delay.js';
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

/** One action's limits among several counted in one call (consumeAll), in order. */
export interface RateLimitStep extends Pick<ConsumeOptions, 'isKnownNetwork'> {
  action: RateLimitAction;
  subject: RateLimitSubject;
}

/** A counted request: what it consumed, to give back or clear once its outcome is known. */
export interface RateLimitPass {
  /** The progressive delay owed before the work (login only uses it). */
  delayMs: number;
  /** Gives the points back, as if the request had not been counted by these keys. */
  refund(keys?: readonly RateLimitKey[]): Promise<void>;
  /** Gives back the points of the `refund` keys and clears the `clear` keys' counters altogether, in one round trip. */
  release(refund: readonly RateLimitKey[], clear: readonly RateLimitKey[]): Promise<void>;
}

/** One limit of one action: its Redis counter (through the library and the scripts alike) and its per-process stand-in. */
interface Limit {
  limiter: RLWrapperTimeouts;
  insurance: RateLimiterMemory;
  keyPrefix: string;
  points: number;
  seconds: number;
}

/** A limit one request is counted against. */
interface Target {
  step: number;
  action: RateLimitAction;
  key: RateLimitKey;
  id: string;
  limit: Limit;
  ip: string | undefined;
  /** Only on the account limit of a step that asks it (ConsumeOptions.isKnownNetwork). */
  isKnownNetwork?: () => Promise<boolean>;
}

/** A point taken, and where it goes back. */
interface Counted extends CountedLimit {
  step: number;
  id: string;
  /** The limiter that took it, or for a point the script took in Redis, the stand-in that answers when Redis cannot take it back. */
  limiter: RateLimiterAbstract;
  /** The counter the script took it from. */
  stored?: StoredLimit;
}

const quietly = (work: Promise<unknown>) => work.catch(() => undefined);

/**
 * The rate limits of every action, counted in Redis so that all API instances share them:
 * rate-limiter-flexible's counters, counted by one script per request (count-limits.ts).
 * Each limit has a per-process in-memory stand-in (rate-limiter-flexible's insurance
 * limiter) that answers while Redis is down or slow, so logins keep working and the
 * limits still hold per process.
 */
export class RateLimits {
  private readonly limiters = new Map<string, Limit>();
  private readonly knownNetworks: KnownNetworks;

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
    this.knownNetworks = new KnownNetworks(redis, settings);
    defineLimitScripts(redis);
    for (const action of RATE_LIMIT_ACTIONS) {
      for (const key of RATE_LIMIT_KEYS) {
        const rule = settings.rules[action][key];
        if (!rule) continue;
        const keyPrefix = `{${settings.prefix}}:rl:${action}:${key}`;
        const options = { points: rule.points, duration: rule.seconds, keyPrefix };
        const insurance = new RateLimiterMemory(options);
        const stored = new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: insurance });
        this.limiters.set(`${action}:${key}`, {
          limiter: new RLWrapperTimeouts({ limiter: stored, timeoutMs: settings.redisTimeoutMs, insuranceLimiter: insurance }),
          insurance,
          keyPrefix,
          points: rule.points,
          seconds: rule.seconds,
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
    const [pass] = await this.consumeAll([{ action, subject, isKnownNetwork: options.isKnownNetwork }], options.log);
    return pass!;
  }

  /**
   * consume() for several actions in one go, the limits of each step after those of the
   * step before, as one count: the first limit that refuses ends it and gives back every
   * point taken before it, whichever step took it. One pass per step, in order.
   *
   * One Redis round trip counts them all (count-limits.ts). While Redis is down or later
   * than redisTimeoutMs, each limit's per-process stand-in counts instead; when the
   * known-network question must be asked, the limits from there on are counted one by one.
   */
  async consumeAll(steps: readonly RateLimitStep[], log: Logger = this.log): Promise<RateLimitPass[]> {
    const targets = steps.flatMap((step, index) => this.targets(index, step));
    const counted: Counted[] = [];
    const retryAfterMs = await this.count(targets, counted, log);
    if (retryAfterMs !== undefined) {
      await this.release(counted, RATE_LIMIT_KEYS, []);
      throw rateLimitedError(retryAfterMs / 1000);
    }
    return steps.map((_, index) => this.pass(counted.filter((entry) => entry.step === index)));
  }

  /** Counts `targets` in order into `counted`; the wait in ms of the limit that refused, if one did. */
  private async count(targets: readonly Target[], counted: Counted[], log: Logger): Promise<number | undefined> {
    const stored = targets.map(({ id, limit, isKnownNetwork }): StoredLimit => ({ key: `${limit.keyPrefix}:${id}`, points: limit.points, seconds: limit.seconds, handsBack: isKnownNetwork !== undefined }));
    const counts = await countLimits(this.redis, stored, this.settings.redisTimeoutMs);
    // Redis away or late: the stand-ins count, as each limit's RLWrapperTimeouts answers after its timeout.
    if (!counts) return this.countEach(targets, counted, log, ({ limit }) => limit.insurance);
    const last = counts.length - 1;
    const refusal = last >= 0 && counts[last]!.consumed > targets[last]!.limit.points ? Math.max(1, counts[last]!.msBeforeNext) : undefined;
    const refuser = refusal === undefined ? undefined : targets[last]!;
    // The script gave the earlier points back itself, unless the refuser may still let the request through.
    if (refuser && !refuser.isKnownNetwork) return refusal;
    for (const [i, { consumed }] of counts.slice(0, refuser ? last : undefined).entries()) {
      const { step, key, id, limit } = targets[i]!;
      counted.push({ step, key, id, consumed, points: limit.points, limiter: limit.insurance, stored: stored[i] });
    }
    if (!refuser) return undefined;
    // Rare: the account limit refused a client whose network the account may know; one by one from here.
    const byKey = ({ limit }: Target) => limit.limiter;
    return (await this.throughKnownNetwork(refuser, refusal!, byKey(refuser), counted, log)) ?? this.countEach(targets.slice(last + 1), counted, log, byKey);
  }

  /** Counts `targets` one by one, each with the limiter `limiterOf` names; the wait in ms of the one that refused, if one did. */
  private async countEach(targets: readonly Target[], counted: Counted[], log: Logger, limiterOf: (target: Target) => RateLimiterAbstract): Promise<number | undefined> {
    for (const target of targets) {
      const limiter = limiterOf(target);
      const refusal = await this.consumeOne(target, target.id, limiter, counted, log);
      const held = refusal === undefined ? undefined : await this.throughKnownNetwork(target, refusal, limiter, counted, log);
      if (held !== undefined) return held;
    }
    return undefined;
  }

  /**
   * A refusal by a limit that asks isKnownNetwork (the account limit): when the client's
   * network is known to the account, the request is counted against that network's own
   * account budget instead. The wait in ms if it still refuses.
   */
  private async throughKnownNetwork(target: Target, refusal: number, limiter: RateLimiterAbstract, counted: Counted[], log: Logger): Promise<number | undefined> {
    if (!target.isKnownNetwork || !(await this.knownNetworks.isKnown(target.action, target.id, target.ip, target.isKnownNetwork, log))) return refusal;
    return this.consumeOne(target, `${target.id}|${networkLimitKey(target.ip)}`, limiter, counted, log);
  }

  /**
   * Takes a point from one limit under `id`, adding it to `counted`; the wait in ms when
   * the limit refuses. A limit that cannot be counted at all (Redis and the per-process
   * stand-in both failed) lets the request through rather than fail it.
   */
  private async consumeOne(target: Target, id: string, limiter: RateLimiterAbstract, counted: Counted[], log: Logger): Promise<number | undefined> {
    try {
      const result = await limiter.consume(id);
      counted.push({ step: target.step, key: target.key, id, consumed: result.consumedPoints, points: target.limit.points, limiter });
      return undefined;
    } catch (error) {
      if (error instanceof RateLimiterRes) return Math.max(1, error.msBeforeNext);
      log.warn({ action: target.action, key: target.key, reason: String(error) }, 'rate limit could not be counted');
      return undefined;
    }
  }

  /**
   * After a step that proves the account's owner (a completed password reset) from `ip`:
   * the account limit of `action` is cleared, with that network's own budget, and the
   * network counts as known to the account for a while (KnownNetworks), so guesses from
   * elsewhere cannot lock the owner out again before their first sign-in records the
   * network.
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
        this.knownNetworks.prove(action, id, network),
      ]);
    } catch (error) {
      log.warn({ action, reason: String(error) }, 'the account limit could not be lifted after the owner proved themselves');
    }
  }

  private targets(step: number, { action, subject, isKnownNetwork }: RateLimitStep): Target[] {
    const ip = ipLimitKey(subject.ip);
    const account = subject.account === undefined ? undefined : accountLimitKey(subject.account);
    const ids: Record<RateLimitKey, string | undefined> = {
      ip,
      account,
      ip_account: account === undefined ? undefined : `${ip}|${account}`,
    };
    return RATE_LIMIT_KEYS.flatMap((key) => {
      const limit = this.limiters.get(`${action}:${key}`);
      const id = ids[key];
      if (!limit || id === undefined) return [];
      return [{ step, action, key, id, limit, ip: subject.ip, isKnownNetwork: key === 'account' ? isKnownNetwork : undefined }];
    });
  }

  private pass(counted: Counted[]): RateLimitPass {
    const release = (refund: readonly RateLimitKey[], clear: readonly RateLimitKey[]) => this.release(counted, refund, clear);
    return { delayMs: progressiveDelayMs(counted, this.settings.delay), refund: (keys = RATE_LIMIT_KEYS) => release(keys, []), release };
  }

  /**
   * Gives back the points `counted` took under the `refund` keys and deletes the `clear`
   * keys' counters: those the script took in one round trip, the others (and all of them
   * when Redis cannot take them) one by one where they were counted. Never fails.
   */
  private async release(counted: readonly Counted[], refund: readonly RateLimitKey[], clear: readonly RateLimitKey[]): Promise<void> {
    const giveBack = counted.filter(({ key }) => refund.includes(key));
    const cleared = counted.filter(({ key }) => clear.includes(key));
    const storedOf = (entries: Counted[]) => entries.flatMap(({ stored }) => (stored ? [stored] : []));
    const inRedis = await releaseLimits(this.redis, storedOf(giveBack), storedOf(cleared).map(({ key }) => key), this.settings.redisTimeoutMs);
    const left = (entries: Counted[]) => (inRedis ? entries.filter(({ stored }) => !stored) : entries);
    await Promise.all([...left(giveBack).map(({ limiter, id }) => quietly(limiter.reward(id))), ...left(cleared).map(({ limiter, id }) => quietly(limiter.delete(id)))]);
  }
}
