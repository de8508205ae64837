import { UnrecoverableError, type Job } from 'bullmq';
import type { DomainEvent } from '../../shared/events.js';
import type { JobName } from '../../shared/queues/jobs.js';
import type { Processors } from '../create-worker.js';
import type { MailBatcher, MailOutcome } from './mail-batcher.js';
import type { MailKinds } from './mail-kind.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A payload without an event id and a user id can never be mailed: fail the job at once. */
function mailEvent(jobName: JobName, payload: unknown): DomainEvent {
  const event = payload as Partial<DomainEvent> | null;
  if (typeof event?.event_id !== 'string' || !UUID.test(event.event_id) || typeof event.user_id !== 'string' || !UUID.test(event.user_id)) {
    throw new UnrecoverableError(`${jobName}: the payload is not an event with event_id and user_id`);
  }
  return event as DomainEvent;
}

/** One processor per kind of mail: each job hands its event to the batcher and resolves with its outcome. */
export function mailProcessors(batcher: MailBatcher, kinds: MailKinds): Processors {
  const processors: Record<string, (job: Job) => Promise<MailOutcome>> = {};
  for (const jobName of Object.keys(kinds) as JobName[]) {
    processors[jobName] = async (job) => batcher.submit(jobName, mailEvent(jobName, job.data));
  }
  return processors as Processors;
}
