import type { Config } from '../../config/config.js';
import type { Pool, PoolClient } from '../../db/pool.js';
import { storeLoginAttemptScoreCompletingReaction, updateLoginAttemptScore } from '../../db/queries/login-attempts.js';
import type { MarkScoreRow } from '../../db/queries/outbox.js';
import { insertReactions, type Reaction } from '../../db/queries/reactions.js';
import type { JobPayloads } from '../../queues/jobs.js';
import { guardAccountOnFailureBurst, isFailureBurst, releaseLapsedGuard } from './guard-account.js';
import { loadLoginFeatures, type ScoredAttempt } from './login-features.js';
import { scoreLoginAttempt, type RiskScore } from './score-login-attempt.js';

export interface Assessment extends RiskScore {
  /** A new guard began with this attempt (UserLocked is in the outbox). */
  guarded: boolean;
  /** The "new sign-in" mail owed, recorded in this transaction; enqueue it after commit. */
  followUps: Reaction[];
}

/**
 * Scores the attempt a LoginSucceeded or LoginFailed event names, stores the score and
 * its reasons, and acts in the same transaction: a risky success owes a "new sign-in"
 * mail (a reactions row, so it survives Redis), a burst of failures guards the account.
 * Returns undefined when the attempt no longer exists.
 */
export async function assessLoginAttempt(
  tx: PoolClient,
  settings: Config['anomaly'],
  event: JobPayloads['score-login'],
): Promise<Assessment | undefined> {
  const attempt = await loadLoginFeatures(tx, settings, event.data.attempt_id);
  if (!attempt) return undefined;

  // Read with the features, so the common case costs no statement; a guard lapsing just
  // after that read is announced by the next attempt or the maintenance sweep.
  if (attempt.guardLapsed) await releaseLapsedGuard(tx, attempt.userId);
  const risk = scoreLoginAttempt(attempt.features, { dormantDays: settings.dormantDays });
  await updateLoginAttemptScore(tx, attempt.id, risk.score, risk.reasons);

  const guarded = attempt.success ? false : await guardAccountOnFailureBurst(tx, settings, attempt);

  let followUps: Reaction[] = [];
  if (owesSignInNotice(settings, event, attempt, risk)) {
    const notice: JobPayloads['send-new-sign-in-mail'] = { ...event, data: { ...event.data, risk_score: risk.score } };
    followUps = await insertReactions(tx, [{ event_id: event.event_id, job_name: 'send-new-sign-in-mail', payload: notice }]);
  }
  return { ...risk, guarded, followUps };
}

/** Whether a sign-in is risky enough to owe its owner a "new sign-in" mail. */
function owesSignInNotice(
  settings: Config['anomaly'],
  event: JobPayloads['score-login'],
  attempt: ScoredAttempt,
  risk: RiskScore,
): event is Extract<JobPayloads['score-login'], { type: 'LoginSucceeded' }> {
  return event.type === 'LoginSucceeded' && attempt.success && risk.score >= settings.notifyThreshold;
}

/** Whether scoring this attempt acts beyond storing its score: a guard to release or begin, a notice to mail. */
function actsBeyondScore(settings: Config['anomaly'], event: JobPayloads['score-login'], attempt: ScoredAttempt, risk: RiskScore): boolean {
  if (attempt.guardLapsed) return true;
  if (!attempt.success) return isFailureBurst(settings, attempt);
  return owesSignInNotice(settings, event, attempt, risk);
}

/** The attempt's risk when storing it is all its assessment does; undefined when the assessment acts. */
function plainRisk(settings: Config['anomaly'], event: JobPayloads['score-login'], attempt: ScoredAttempt): RiskScore | undefined {
  const risk = scoreLoginAttempt(attempt.features, { dormantDays: settings.dormantDays });
  return actsBeyondScore(settings, event, attempt, risk) ? undefined : risk;
}

/**
 * The common case of assessLoginAttempt in two statements instead of a transaction of
 * five: the features are read on their own (they depend only on the attempts before this
 * one, so the read needs no lock), and when the score is all there is to store, it is
 * stored in the same statement that records the score-login reaction completed, so the
 * two cannot part. Returns undefined when this case does not apply (the attempt is gone,
 * the assessment acts, the reaction row is missing or already completed): the caller
 * then takes the transactional path, which also tells those apart.
 */
export async function assessPlainLoginAttempt(
  pool: Pool,
  settings: Config['anomaly'],
  event: JobPayloads['score-login'],
): Promise<Assessment | undefined> {
  const attempt = await loadLoginFeatures(pool, settings, event.data.attempt_id);
  const risk = attempt && plainRisk(settings, event, attempt);
  if (!attempt || !risk) return undefined;
  const stored = await storeLoginAttemptScoreCompletingReaction(pool, attempt.id, risk.score, risk.reasons, event.event_id);
  return stored ? { ...risk, guarded: false, followUps: [] } : undefined;
}

/**
 * The plain assessments (storing the score is all they do) of a batch of score-login
 * events, from their attempts' features as the relay's claim read them (by attempt id;
 * an attempt that is gone or names no account is absent), for the relay to store with
 * the mark that records the reactions (SCORED_AT_MARK), so a plain sign-in costs no job
 * and no statement of its own. An event whose attempt is absent has nothing to score
 * (score null), and its reaction is done, as the worker's would be. Events whose
 * assessment acts are left out: their jobs take the transactional path (assessLoginAttempt).
 */
export function assessPlainLoginAttempts(
  settings: Config['anomaly'],
  events: Array<JobPayloads['score-login']>,
  attempts: ReadonlyMap<string, ScoredAttempt>,
): MarkScoreRow[] {
  return events.flatMap((event): MarkScoreRow[] => {
    const attempt = attempts.get(event.data.attempt_id);
    if (!attempt) return [{ eventId: event.event_id, attemptId: event.data.attempt_id, score: null, reasons: [] }];
    const risk = plainRisk(settings, event, attempt);
    return risk ? [{ eventId: event.event_id, attemptId: attempt.id, ...risk }] : [];
  });
}
