import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import { giveUpReaction } from '../shared/db/queries/reactions.js';
import { describeIssues } from '../shared/events/describe-issues.js';
import { EVENT_ENVELOPE } from '../shared/events/event-schemas.js';
import { JOB_PAYLOAD_SCHEMAS, type JobName, type JobPayloads, type QueueName } from '../shared/queues/jobs.js';
import { queuePrefix } from '../shared/queues/queues.js';
import type { WorkerDeps } from './worker-deps.js';

/** A processor gets its job's payload parsed and typed (parseJobPayload), never job.data as it came. */
export type Processors = { [N in JobName]?: (payload: JobPayloads[N]) => Promise<unknown> };

/**
 * A job's payload checked against its job's schema (JOB_PAYLOAD_SCHEMAS): a payload
 * that does not parse can never succeed, so it fails the job at once
 * (UnrecoverableError) with the fields that are wrong.
 */
export function parseJobPayload<N extends JobName>(jobName: N, payload: unknown): JobPayloads[N] {
  const parsed = JOB_PAYLOAD_SCHEMAS[jobName].safeParse(payload);
  if (!parsed.success) throw new UnrecoverableError(`${jobName}: the payload is not an event this job takes (${describeIssues(parsed.error.issues)})`);
  return parsed.data as JobPayloads[N];
}

const eventIdOnly = z.object({ event_id: EVENT_ENVELOPE.event_id });

/**
 * Stall detection: a worker renews its job lock every lockDuration/2. When a worker is
 * killed its lock lapses after LOCK_DURATION_MS and the next stall check (every
 * STALLED_INTERVAL_MS) moves the job back to waiting, so it runs again within about
 * 45 s. A job that stalls more than MAX_STALLED_COUNT times fails.
 */
export const LOCK_DURATION_MS = 30_000;
export const STALLED_INTERVAL_MS = 15_000;
export const MAX_STALLED_COUNT = 2;

/**
 * A BullMQ worker for one queue that dispatches by job name to typed processors.
 * A job name nobody handles fails and is retried with backoff: an older worker of a rolling
 * deploy may meet a newer job name that a newer worker will handle.
 */
export function createWorker(deps: WorkerDeps, queue: QueueName, processors: Processors, concurrency = 4): Worker {
  const worker = new Worker(
    queue,
    async (job: Job) => {
      const jobName = job.name as JobName;
      const process = processors[jobName] as ((payload: JobPayloads[JobName]) => Promise<unknown>) | undefined;
      // Retried, not unrecoverable: during a rolling deploy an older worker may meet a newer job name.
      if (!process) throw new Error(`no processor for job "${job.name}" on queue ${queue}`);
      return process(parseJobPayload(jobName, job.data));
    },
    {
      connection: deps.queueSet.connection,
      prefix: queuePrefix(deps.config.queuePrefix),
      concurrency,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
    },
  );
  worker.on('failed', (job, error) => {
    deps.log.warn({ queue, job: job?.name, job_id: job?.id, attempts: job?.attemptsMade, reason: error.message }, 'job failed');
    if (job && error instanceof UnrecoverableError) void recordGivenUp(deps, job, error);
  });
  logConnectionErrors(worker, deps, queue);
  return worker;
}

/** Errors closer together than this belong to one outage. */
const ERROR_QUIET_MS = 30_000;

/**
 * A worker whose Redis is away emits an error per reconnect attempt (a dozen a second
 * at first): the first of an outage is logged, the rest only once it has been quiet for
 * ERROR_QUIET_MS. The process's own Redis client logs the recovery.
 */
function logConnectionErrors(worker: Worker, deps: WorkerDeps, queue: QueueName): void {
  let lastAt = 0;
  worker.on('error', (error) => {
    const now = Date.now();
    if (now - lastAt > ERROR_QUIET_MS) deps.log.warn({ queue, reason: error.message }, 'worker error (repeats are not logged until it has been quiet for 30 s)');
    lastAt = now;
  });
}

/**
 * A reaction that can never succeed is given up (given_up_at, last_error), so the
 * reactions sweep does not enqueue it again every REACTION_TIMEOUT_SECONDS forever; the
 * failed job stays on the dashboard, and `npm run outbox:replay -- <event_id>` puts the
 * reaction back in line once its cause is fixed.
 */
async function recordGivenUp(deps: WorkerDeps, job: Job, error: Error): Promise<void> {
  // The event_id as the envelope's schema reads it: a payload refused for another field still names its reaction.
  const parsed = eventIdOnly.safeParse(job.data);
  if (!parsed.success) return;
  const eventId = parsed.data.event_id;
  try {
    await giveUpReaction(deps.pool, eventId, job.name as JobName, error.message);
    deps.log.error({ job: job.name, event_id: eventId, reason: error.message }, 'reaction given up: it can never succeed');
  } catch (failure) {
    deps.log.warn({ job: job.name, event_id: eventId, reason: (failure as Error).message }, 'could not record a given-up reaction; the sweep will retry it');
  }
}
