import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, type ErrorCode } from '../errors.js';
import { loginUser, type ClientInfo, type Credentials, type SignInOutcome } from '../domain/login-user.js';
import type { Logger } from '../logger.js';
import { loginResultOf } from '../metrics/metrics.js';
import type { Services } from '../services.js';
import { consumeSignInLimits, releaseSignInLimits } from './sign-in-limits.js';

/** The outcomes loginUser records as failed attempts (login_attempts rows the anomaly guard counts). */
const COUNTED_FAILURES: readonly ErrorCode[] = ['invalid_credentials', 'account_locked', 'account_disabled', 'password_reset_required'];

type Deps = Parameters<typeof loginUser>[0] & Pick<Services, 'rateLimits' | 'metrics'>;

/**
 * loginUser behind the login limits, which count failed attempts: a point is taken from
 * each limit before any hashing (so a refused client costs no argon2 and no row, and
 * concurrent guesses cannot all slip past the check), and given back unless the attempt
 * is recorded as a failure. A success also clears the IP-and-account counter: that
 * client has shown it knows the password. Past half of a limit, the progressive delay
 * is served before the hash, where it holds no hashing slot.
 *
 * The login_success limits count right passwords, per account and per address: taken
 * before the work as well, given back when the password was wrong (or the request
 * failed otherwise), so a refused request and a failure cost no success point.
 *
 * The account limit counts failures from everywhere, so on its own it would let anyone
 * who knows the email keep the owner out. When it alone refuses, a client whose network
 * (IP prefix) has signed in to the account before is counted against that network's own
 * account budget (same points) instead: guessing from elsewhere cannot lock the owner
 * out, and a known network, however many addresses it holds, guesses no faster.
 *
 * Every attempt's result is counted here, once, in login_attempts_total (step `password`).
 */
export async function loginWithLimits(deps: Deps, credentials: Credentials, client: ClientInfo, log?: Logger): Promise<SignInOutcome> {
  try {
    const outcome = await limitedLogin(deps, credentials, client, log);
    deps.metrics.loginAttempts.inc({ step: 'password', result: outcome.kind === 'signed-in' ? 'success' : 'mfa_required' });
    return outcome;
  } catch (error) {
    deps.metrics.loginAttempts.inc({ step: 'password', result: loginResultOf(error) });
    throw error;
  }
}

async function limitedLogin(deps: Deps, credentials: Credentials, client: ClientInfo, log?: Logger): Promise<SignInOutcome> {
  // The success limits are taken before the work too, and given back unless the password was right.
  const { pass, successes } = await consumeSignInLimits(deps, credentials.email, client.ip, log);
  if (pass.delayMs > 0) await sleep(pass.delayMs);
  let outcome: SignInOutcome;
  try {
    outcome = await loginUser(deps, credentials, client);
  } catch (error) {
    await Promise.all([successes.refund(), !(error instanceof AppError && COUNTED_FAILURES.includes(error.code)) ? pass.refund() : undefined]);
    throw error;
  }
  // A second step still to come counts as a right password: its wrong codes have limits of their own.
  await releaseSignInLimits(pass);
  return outcome;
}
