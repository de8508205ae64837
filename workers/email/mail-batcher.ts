import { UnrecoverableError } from 'bullmq';
import { withTransaction, type Pool, type PoolClient } from '../../shared/db/pool.js';
import { completeReactions, insertReactions, lockReactions, type ReactionKey } from '../../shared/db/queries/reactions.js';
import { findMailRecipients } from '../../shared/db/queries/users.js';
import type { Mailer } from '../../shared/mail/mailer.js';
import type { Metrics } from '../../shared/metrics/metrics.js';
import type { MailContent } from '../../shared/mail/templates/render-mail.js';
import type { JobName, JobPayloads } from '../../shared/queues/jobs.js';
import type { MailEntry, MailKind, MailKinds } from './mail-kind.js';

export type MailOutcome = 'sent' | 'skipped' | 'already-done';

interface Item {
  key: ReactionKey;
  event: JobPayloads[JobName];
  resolve(outcome: MailOutcome): void;
  reject(error: unknown): void;
}

type Result = { outcome: MailOutcome } | { error: unknown };

export interface MailBatcherOptions {
  /** Reactions handled in one transaction at most. */
  maxBatch: number;
  /** Transactions (batches) in flight at once. */
  maxParallel: number;
}

const keyOf = (key: ReactionKey) => `${key.event_id}/${key.job_name}`;

/** A permanent SMTP refusal (5xx, such as an unknown mailbox) will never succeed: fail it at once, like a gone user. */
function sendError(item: Item, error: unknown): unknown {
  const code = (error as { responseCode?: number } | null)?.responseCode;
  if (typeof code === 'number' && code >= 500 && code < 600) {
    return new UnrecoverableError(`${item.key.job_name}: the SMTP server refused the mail permanently (${code})`);
  }
  return error;
}

/**
 * Runs mail reactions with performReaction's protocol (lock the reaction row, skip it
 * when completed, act, mark it completed, all in the worker's own transaction), for
 * many reactions per transaction. Reactions that arrive while maxParallel batches are
 * in flight wait and go together in the next one, so under load the database work per
 * mail shrinks to a few statements per batch; alone, a reaction goes at once.
 *
 * In a batch: rows locked in key order; recipients read in one statement; each kind's
 * entries composed together (their tokens written in one statement); every mail sent
 * at once through the pooled transport, before the commit; then the reactions that
 * sent, had nothing to send, whose user is gone or whose mail the SMTP server refused
 * for good (5xx) marked completed. So a retried job never mails twice. A mail whose send
 * fails otherwise is not marked: its job fails and is retried (its unsent token stays,
 * superseded by the retry's). A failing statement or commit fails every job of the
 * batch, to be retried: a mail sent before a failed commit may then go twice (at least
 * once, never lost).
 */
export class MailBatcher {
  private readonly waiting: Item[] = [];
  private running = 0;

  constructor(
    private readonly pool: Pool,
    private readonly mailer: Mailer,
    private readonly kinds: MailKinds,
    private readonly options: MailBatcherOptions,
    private readonly metrics: Pick<Metrics, 'mailsSent' | 'mailsFailed'>,
  ) {}

  submit<N extends JobName>(jobName: N, event: JobPayloads[N]): Promise<MailOutcome> {
    if (!this.kinds[jobName]) return Promise.reject(new UnrecoverableError(`no kind of mail for job "${jobName}"`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ key: { event_id: event.event_id, job_name: jobName }, event, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.maxParallel && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.running += 1;
      void this.run(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async run(items: Item[]): Promise<void> {
    // A job delivered twice into one batch acts once; the copy reports already-done.
    const byKey = new Map<string, Item>();
    const copies: Item[] = [];
    for (const item of items) {
      if (byKey.has(keyOf(item.key))) copies.push(item);
      else byKey.set(keyOf(item.key), item);
    }
    const unique = [...byKey.values()];
    let results: Map<Item, Result>;
    try {
      results = await withTransaction(this.pool, (tx) => this.perform(tx, unique));
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    for (const item of unique) {
      const result = results.get(item)!;
      if ('outcome' in result) item.resolve(result.outcome);
      else item.reject(result.error);
    }
    for (const copy of copies) copy.resolve('already-done');
  }

  /** Locks the batch's reaction rows (recording any that are missing, as performReaction does); returns the completed keys. */
  private async lock(tx: PoolClient, items: Item[]): Promise<Set<string>> {
    const keys = items.map((item) => item.key);
    let locked = await lockReactions(tx, keys);
    if (locked.length < keys.length) {
      const found = new Set(locked.map(keyOf));
      await insertReactions(tx, items.filter((item) => !found.has(keyOf(item.key))).map((item) => ({ ...item.key, payload: item.event })));
      locked = await lockReactions(tx, keys);
    }
    return new Set(locked.filter((row) => row.completed).map(keyOf));
  }

  private async perform(tx: PoolClient, items: Item[]): Promise<Map<Item, Result>> {
    const results = new Map<Item, Result>();
    const completed = await this.lock(tx, items);
    for (const item of items) if (completed.has(keyOf(item.key))) results.set(item, { outcome: 'already-done' });
    const pending = items.filter((item) => !completed.has(keyOf(item.key)));

    const userIds = [...new Set(pending.map((item) => item.event.user_id))];
    const recipients = new Map((await findMailRecipients(tx, userIds)).map((recipient) => [recipient.id, recipient]));
    const byKind = new Map<JobName, Array<{ item: Item; entry: MailEntry }>>();
    for (const item of pending) {
      const recipient = recipients.get(item.event.user_id);
      if (!recipient || recipient.status === 'deleted') {
        // Nothing can ever be sent: completed for the sweep, failed at once for the dashboard.
        results.set(item, { error: new UnrecoverableError(`${item.key.job_name}: user ${item.event.user_id} no longer exists`) });
        continue;
      }
      const group = byKind.get(item.key.job_name) ?? [];
      group.push({ item, entry: { recipient, event: item.event } });
      byKind.set(item.key.job_name, group);
    }

    const mails: Array<{ item: Item; to: string; content: MailContent }> = [];
    for (const [jobName, group] of byKind) {
      // Entries are grouped by job name, so each kind gets only the payloads of its own job.
      const kind = this.kinds[jobName] as MailKind;
      const contents = await kind(tx, group.map((member) => member.entry));
      group.forEach(({ item, entry }, index) => {
        const content = contents[index];
        if (content) mails.push({ item, to: entry.recipient.email, content });
        else results.set(item, { outcome: 'skipped' });
      });
    }

    const sent = await Promise.allSettled(mails.map((mail) => this.mailer.send({ to: mail.to, ...mail.content })));
    mails.forEach((mail, index) => {
      const result = sent[index]!;
      (result.status === 'fulfilled' ? this.metrics.mailsSent : this.metrics.mailsFailed).inc({ kind: mail.item.key.job_name });
      results.set(mail.item, result.status === 'fulfilled' ? { outcome: 'sent' } : { error: sendError(mail.item, result.reason) });
    });
    const done = pending.filter((item) => {
      const result = results.get(item)!;
      return 'outcome' in result || result.error instanceof UnrecoverableError;
    });
    await completeReactions(tx, done.map((item) => item.key));
    return results;
  }
}
