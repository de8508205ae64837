import { hasEmailSignedInFromIpPrefix } from '../db/queries/login-attempts.js';
import { canonicalEmail } from '../domain/email-address.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import type { RateLimitPass } from './rate-limits.js';

/**
 * The login limits and then the login_success ones of a sign-in by `email` from `ip`,
 * counted as one (RateLimits.consumeAll: one Redis round trip, and a refusal by either
 * gives back the points of both): the password and the passkey sign-in alike.
 */
export async function consumeSignInLimits(deps: Pick<Services, 'rateLimits' | 'pool'>, email: string, ip: string | undefined, log?: Logger): Promise<{ pass: RateLimitPass; successes: RateLimitPass }> {
  const subject = { ip, account: email };
  const isKnownNetwork = () => hasEmailSignedInFromIpPrefix(deps.pool, canonicalEmail(email), ip);
  const [pass, successes] = await deps.rateLimits.consumeAll([{ action: 'login', subject, isKnownNetwork }, { action: 'login_success', subject }], log);
  return { pass: pass!, successes: successes! };
}

/** After a sign-in (a second step still to come counts): its login points back and the IP-and-account counter cleared, in one round trip. */
export function releaseSignInLimits(pass: RateLimitPass): Promise<void> {
  return pass.release(['ip', 'account'], ['ip_account']);
}
