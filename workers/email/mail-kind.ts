import type { PoolClient } from '../../shared/db/pool.js';
import type { MailRecipient } from '../../shared/db/queries/users.js';
import type { MailContent } from '../../shared/mail/templates/render-mail.js';
import type { JobName, JobPayloads } from '../../shared/queues/jobs.js';

/** One event to mail about (the job's parsed payload), with the account's owner (the stored address, the profile locale). */
export interface MailEntry<N extends JobName = JobName> {
  recipient: MailRecipient;
  event: JobPayloads[N];
}

/**
 * A kind of mail, for the email role's reaction job of the same name: given a batch of
 * entries, writes what the mails need in the reaction transaction (tokens, in one
 * statement) and returns each entry's mail, or undefined for none, in order.
 */
export type MailKind<N extends JobName = JobName> = (tx: PoolClient, entries: Array<MailEntry<N>>) => Promise<Array<MailContent | undefined>>;

export type MailKinds = { [N in JobName]?: MailKind<N> };

/**
 * Of several entries for one user in a batch, only the last is mailed (one mail, one
 * live token); the others are done without a mail of their own.
 */
export function lastPerUser(entries: MailEntry[]): boolean[] {
  const last = new Map(entries.map((entry, index) => [entry.recipient.id, index]));
  return entries.map((entry, index) => last.get(entry.recipient.id) === index);
}
