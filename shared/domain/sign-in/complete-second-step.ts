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
import { refusalOf, recordLoginFailure } from './sign-in-refusals.js';
import { MFA_TOKEN_MAX_FAILURES } from './start-second-step.js';

export type SecondStepDeps = Pick<Services, 'pool' | 'accessTokens' | 'config' | 'rateLimits' | 'secretBox' | 'metrics'>;

/**
 * Judges one answer to a challenge in the step's transaction (the user and the challenge
 * already locked): the amr of the factor that answered (RFC 8176: otp, hwk ...), or
 * undefined for a wrong answer, which is counted.
 */
export type AnswerCheck = (tx: PoolClient, userId: string, challenge: MfaChallenge) => Promise<readonly string[] | undefined>;

export interface SecondStep {
  /** The mfa_token (purpose login) or passkey_token (purpose passkey) the client holds. */
  token: string;
  purpose: ChallengePurpose;
  client: ClientInfo;
  log?: Logger | undefined;
}

type Outcome = { issued: IssuedTokens } | { wrong: { email: string } } | { refused: AppError } | 'dead';

/**
 * The last step of a sign-in that needs more than a password: the challenge must be
 * live (5 minutes, not spent, fewer than 5 wrong answers: else 401 invalid_token), the
 * account still allowed to sign in, and the answer right (else 401 invalid_code, a
 * failed attempt for the limits, the attempts table and the anomaly scoring). A right
 * answer spends the challenge and opens the session in the same transaction, so a token
 * is good for one session. Locks: the user (shared), then the challenge, then what the
 * check locks (the house order: users first). Its result is counted in
 * login_attempts_total (step `second_factor`).
 */
export async function completeSecondStep(deps: SecondStepDeps, step: SecondStep, check: AnswerCheck): Promise<IssuedTokens> {
  try {
    const issued = await judgeSecondStep(deps, step, check);
    deps.metrics.loginAttempts.inc({ step: 'second_factor', result: 'success' });
    return issued;
  } catch (error) {
    deps.metrics.loginAttempts.inc({ step: 'second_factor', result: loginResultOf(error) });
    throw error;
  }
}

async function judgeSecondStep(deps: SecondStepDeps, step: SecondStep, check: AnswerCheck): Promise<IssuedTokens> {
  const tokenHash = hashToken(step.token);
  const userId = await findLiveMfaChallengeUser(deps.pool, tokenHash, step.purpose);
  if (!userId) throw new AppError('invalid_token');
  const pass = await deps.rateLimits.consume('mfa', { ip: step.client.ip, account: userId }, { log: step.log });
  const outcome = await withTransaction<Outcome>(deps.pool, async (tx) => {
    const user = await lockUserForSecondStep(tx, userId);
    const refused = refusalOf(user && { status: user.status, password_reset_required: user.password_reset_required, password_unchanged: true });
    if (!user || refused) return { refused: new AppError(refused?.code ?? 'invalid_token') };
    const challenge = await lockLiveMfaChallenge(tx, tokenHash, step.purpose, MFA_TOKEN_MAX_FAILURES);
    if (!challenge) return 'dead';
    const amr = await check(tx, userId, challenge);
    if (!amr) {
      await countFailedMfaAnswer(tx, challenge.id);
      return { wrong: { email: user.email } };
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
  if ('refused' in outcome) {
    await pass.refund();
    throw outcome.refused;
  }
  if ('wrong' in outcome) {
    await recordLoginFailure(deps.pool, userId, { email: outcome.wrong.email, ip: step.client.ip, userAgent: step.client.userAgent }, 'invalid_code');
    throw new AppError('invalid_code');
  }
  await pass.refund();
  return outcome.issued;
}
