import { setTimeout as sleep } from 'node:timers/promises';
import { hashToken } from '../../crypto/random-token.js';
import { withTransaction, type PoolClient } from '../../db/pool.js';
import { consumeMfaChallenge, countFailedMfaAnswer, findLiveMfaChallengeUser, lockLiveMfaChallenge, type ChallengePurpose, type MfaChallenge } from '../../db/queries/mfa-challenges.js';
import { lockUserForSecondStep } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { loginResultOf } from '../../metrics/metrics.js';
import type { Services } from '../../services.js';
import type { ClientInfo } from '../login-user.js';
import { openSession, type IssuedTokens } from '../open-session.js';
import { refusalOf, recordLoginFailure, refuse, type LoginFailureReason } from './sign-in-refusals.js';
import { MFA_TOKEN_MAX_FAILURES } from './start-second-step.js';
import type { RateLimitPass } from '../../rate-limit/rate-limits.js';
import { consumeSignInLimits, releaseSignInLimits } from '../../rate-limit/sign-in-limits.js';

export type SecondStepDeps = Pick<Services, 'pool' | 'accessTokens' | 'config' | 'rateLimits' | 'secretBox' | 'metrics'>;

/** A wrong answer with a reason of its own for LoginFailed (a WebAuthn counter that went backwards). */
export interface WrongAnswer {
  wrong: LoginFailureReason;
}

/**
 * Judges one answer to a challenge in the step's transaction (the user and the challenge
 * already locked): the amr of the factor that answered (RFC 8176: otp, hwk ...), or
 * undefined (or a WrongAnswer) for a wrong answer, which is counted.
 */
export type AnswerCheck = (tx: PoolClient, userId: string, challenge: MfaChallenge) => Promise<readonly string[] | WrongAnswer | undefined>;

export interface SecondStep {
  /** The mfa_token (purpose login) or passkey_token (purpose passkey) the client holds. */
  token: string;
  purpose: ChallengePurpose;
  client: ClientInfo;
  log?: Logger | undefined;
  /**
   * A passkey sign-in: the owner of the credential that answered (its challenge belongs to
   * no one yet) and the email its login limits count against. It is a sign-in of its own:
   * a wrong answer is 401 invalid_credentials, a refusal is recorded as a password
   * login's is, and the login limits apply instead of the mfa ones.
   */
  passkeyOwner?: { userId: string; email: string } | undefined;
}

type Outcome = { issued: IssuedTokens } | { wrong: { email: string; reason: LoginFailureReason } } | { refused: AppError; email: string; reason: ReturnType<typeof refusalOf> } | 'dead';

/**
 * The last step of a sign-in that needs more than a password: the challenge must be
 * live (5 minutes, not spent, fewer than 5 wrong answers: else 401 invalid_token), the
 * account still allowed to sign in, and the answer right (else 401 invalid_code, a
 * failed attempt for the limits, the attempts table and the anomaly scoring). A right
 * answer spends the challenge and opens the session in the same transaction, so a token
 * is good for one session. Locks: the user (shared), then the challenge, then what the
 * check locks (the house order: users first). Its result is counted in
 * login_attempts_total (step `second_factor`, or `passkey` for a passkey sign-in alone).
 */
export async function completeSecondStep(deps: SecondStepDeps, step: SecondStep, check: AnswerCheck): Promise<IssuedTokens> {
  const counted = step.passkeyOwner ? 'passkey' : 'second_factor';
  try {
    const issued = await judgeSecondStep(deps, step, check);
    deps.metrics.loginAttempts.inc({ step: counted, result: 'success' });
    return issued;
  } catch (error) {
    deps.metrics.loginAttempts.inc({ step: counted, result: loginResultOf(error) });
    throw error;
  }
}

async function judgeSecondStep(deps: SecondStepDeps, step: SecondStep, check: AnswerCheck): Promise<IssuedTokens> {
  const tokenHash = hashToken(step.token);
  const challengeUser = await findLiveMfaChallengeUser(deps.pool, tokenHash, step.purpose);
  const userId = step.passkeyOwner ? (challengeUser === null ? step.passkeyOwner.userId : undefined) : challengeUser;
  if (!userId) throw new AppError('invalid_token');
  // A passkey sign-in is a sign-in: it spends the login and login_success limits as a
  // right password does, taken before the work and given back unless it signs in.
  const { pass, successes }: { pass: RateLimitPass; successes?: RateLimitPass } = step.passkeyOwner
    ? await consumeSignInLimits(deps, step.passkeyOwner.email, step.client.ip, step.log)
    : { pass: await deps.rateLimits.consume('mfa', { ip: step.client.ip, account: userId }, { log: step.log }) };
  try {
    return await answerSecondStep(deps, step, check, { userId, tokenHash, pass });
  } catch (error) {
    await successes?.refund();
    throw error;
  }
}

/** completeSecondStep once its limits are taken: checks the answer and opens the session, or says why not. */
async function answerSecondStep(deps: SecondStepDeps, step: SecondStep, check: AnswerCheck, taken: { userId: string; tokenHash: string; pass: RateLimitPass }): Promise<IssuedTokens> {
  const { userId, tokenHash, pass } = taken;
  // The login limits' progressive delay, as a password login serves it.
  if (step.passkeyOwner && pass.delayMs > 0) await sleep(pass.delayMs);
  const outcome = await withTransaction<Outcome>(deps.pool, async (tx) => {
    const user = await lockUserForSecondStep(tx, userId);
    const refused = refusalOf(user && { status: user.status, password_reset_required: user.password_reset_required, password_unchanged: true });
    if (!user || refused) return { refused: new AppError(refused?.code ?? 'invalid_token'), email: user?.email ?? '', reason: refused };
    const challenge = await lockLiveMfaChallenge(tx, tokenHash, step.purpose, MFA_TOKEN_MAX_FAILURES);
    if (!challenge) return 'dead';
    const amr = await check(tx, userId, challenge);
    if (!amr || 'wrong' in amr) {
      await countFailedMfaAnswer(tx, challenge.id);
      return { wrong: { email: user.email, reason: amr?.wrong ?? (step.passkeyOwner ? 'invalid_passkey' : 'invalid_code') } };
    }
    await consumeMfaChallenge(tx, challenge.id);
    // After a password the factor makes it multi-factor; a passkey's own amr says what it proved.
    const sessionAmr = step.purpose === 'login' ? ['pwd', ...amr, 'mfa'] : amr;
    const opened = await openSession(tx, deps, { userId, email: user.email, ip: step.client.ip, userAgent: step.client.userAgent, verifiedHash: user.password_hash, amr: sessionAmr });
    if (!('issued' in opened)) throw new Error(`second step of user ${userId} opened no session although the account allowed it`);
    return opened;
  });
  if (outcome === 'dead') {
    await pass.refund();
    throw new AppError('invalid_token');
  }
  const attempt = { email: step.passkeyOwner?.email ?? '', ip: step.client.ip, userAgent: step.client.userAgent };
  if ('refused' in outcome) {
    // A passkey sign-in is refused as a password login is: recorded, and counted by the login limits.
    if (step.passkeyOwner && outcome.reason) return refuse(deps.pool, userId, attempt, outcome.reason);
    await pass.refund();
    throw outcome.refused;
  }
  if ('wrong' in outcome) {
    await recordLoginFailure(deps.pool, userId, { ...attempt, email: outcome.wrong.email }, outcome.wrong.reason);
    throw new AppError(step.passkeyOwner ? 'invalid_credentials' : 'invalid_code');
  }
  if (step.passkeyOwner) await releaseSignInLimits(pass);
  else await pass.refund();
  return outcome.issued;
}
