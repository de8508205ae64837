import type { Config } from '../../shared/config/config.js';
import { createMailer } from '../../shared/mail/mailer.js';
import type { Component } from '../../shared/process/boot.js';
import { anomalyMailKinds } from '../anomaly/anomaly-mail-processors.js';
import { createWorker, type Processors } from '../create-worker.js';
import type { WorkerDeps } from '../worker-deps.js';
import { accountMailKinds } from './account-mail-kinds.js';
import { MailBatcher } from './mail-batcher.js';
import type { MailKinds } from './mail-kind.js';
import { mailProcessors } from './mail-processors.js';

/**
 * Every kind of mail the email queue sends, one object per feature, merged; a feature
 * that mails adds its `(config) => MailKinds` here and its job names become processors.
 */
export function emailMailKinds(config: Config): MailKinds {
  return {
    ...accountMailKinds(config),
    ...anomalyMailKinds(config),
  };
}

/**
 * Transactions in flight at once, and reactions per transaction at most: under load a
 * batch gathers what arrived while the others ran (MailBatcher). EMAIL_CONCURRENCY
 * (jobs held at once) should be a few times maxBatch for batches to fill.
 */
export const MAIL_BATCHES = { maxParallel: 2, maxBatch: 50 };

/**
 * The email role: one pooled mailer (SMTP_URL, or .eml files in MAIL_DIR), a batcher
 * and a BullMQ worker on the `email` queue. Stop closes the worker (letting running
 * jobs finish) before the mailer.
 */
export async function startEmailWorker(deps: WorkerDeps): Promise<Component> {
  const mailer = createMailer(deps.config, deps.log);
  const kinds = emailMailKinds(deps.config);
  const batcher = new MailBatcher(deps.pool, mailer, kinds, MAIL_BATCHES, deps.metrics);
  // Mail kinds become batched processors; a job that is not a mail could be spread in beside them.
  const processors: Processors = { ...mailProcessors(batcher, kinds) };
  const worker = createWorker(deps, 'email', processors, deps.config.emailConcurrency);
  return {
    name: 'email',
    async stop() {
      await worker.close();
      mailer.close();
    },
  };
}
