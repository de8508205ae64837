import type { JobName, JobPayloads } from '../../shared/queues/jobs.js';
import type { Processors } from '../create-worker.js';
import type { MailBatcher } from './mail-batcher.js';
import type { MailKinds } from './mail-kind.js';

/** One processor per kind of mail: each job hands its parsed event to the batcher and resolves with its outcome. */
export function mailProcessors(batcher: MailBatcher, kinds: MailKinds): Processors {
  const entries = (Object.keys(kinds) as JobName[]).map((jobName) => [jobName, (event: JobPayloads[JobName]) => batcher.submit(jobName, event)]);
  // Each processor is registered under its own job name, so it only ever receives that job's payloads.
  return Object.fromEntries(entries) as Processors;
}
