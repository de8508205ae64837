import { assessLoginAttempt, assessPlainLoginAttempt, type Assessment } from '../../shared/domain/anomaly/assess-login-attempt.js';
import { markReactionsEnqueued } from '../../shared/db/queries/reactions.js';
import type { Component } from '../../shared/process/boot.js';
import { performReaction } from '../../shared/queues/perform-reaction.js';
import { enqueueReaction } from '../../shared/queues/queues.js';
import type { JobPayloads } from '../../shared/queues/jobs.js';
import { createWorker } from '../create-worker.js';
import type { WorkerDeps } from '../worker-deps.js';

/**
 * The score-login processor: scores the attempt once per event, in two statements when
 * storing the score is all it does (assessPlainLoginAttempt), else in a transaction
 * (performReaction) and,
 * after the commit, enqueues the follow-up mail it recorded. If that enqueue fails the
 * reactions sweep enqueues it later, so the job itself still succeeds.
 */
export function scoreLoginProcessor(deps: Pick<WorkerDeps, 'pool' | 'config' | 'queueSet' | 'log'>) {
  return async (event: JobPayloads['score-login']): Promise<Pick<Assessment, 'score' | 'guarded'> | { skipped: string }> => {
    let assessment = await assessPlainLoginAttempt(deps.pool, deps.config.anomaly, event);
    if (!assessment) {
      const outcome = await performReaction(deps.pool, 'score-login', event, async (tx) => {
        assessment = await assessLoginAttempt(tx, deps.config.anomaly, event);
      });
      if (outcome === 'already-done') return { skipped: 'already-done' };
      if (!assessment) return { skipped: 'attempt-gone' };
    }

    for (const reaction of assessment.followUps) {
      try {
        await enqueueReaction(deps.queueSet.queues, reaction.job_name, reaction.payload);
        await markReactionsEnqueued(deps.pool, [reaction]);
      } catch (error) {
        deps.log.warn({ job: reaction.job_name, event_id: reaction.event_id, reason: (error as Error).message }, 'follow-up not enqueued; the sweep will');
      }
    }
    if (assessment.score >= deps.config.anomaly.notifyThreshold || assessment.guarded) {
      deps.log.info({ event_id: event.event_id, score: assessment.score, guarded: assessment.guarded }, 'risky login attempt');
    }
    return { score: assessment.score, guarded: assessment.guarded };
  };
}

/**
 * Jobs one anomaly worker runs at once. A plain sign-in's scoring is two short statements,
 * so one at a time keeps up with hundreds of sign-ins a second; each further slot cost an
 * empty moveToActive round trip per job at a steady trickle (BullMQ fetches for every free
 * slot). More throughput: more worker processes.
 */
const ANOMALY_CONCURRENCY = 1;

/** The anomaly role: one BullMQ worker on the `anomaly` queue. */
export async function startAnomalyWorker(deps: WorkerDeps): Promise<Component> {
  const worker = createWorker(deps, 'anomaly', { 'score-login': scoreLoginProcessor(deps) }, ANOMALY_CONCURRENCY);
  return {
    name: 'anomaly',
    async stop() {
      await worker.close();
    },
  };
}
