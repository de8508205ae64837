import type { PoolClient } from '../../shared/db/pool.js';
import type { MailRecipient } from '../../shared/db/queries/users.js';
import type { DomainEvent } from '../../shared/events.js';
import type { MailContent } from '../../shared/mail/templates/render-mail.js';
import type { JobName } from '../../shared/queues/jobs.js';

/** One event to mail about, with the account's owner (the stored address, the profile locale). */
export interface MailEntry {
  recipient: MailRecipient;
  event: DomainEvent;
}

/**
 * A kind of mail, for the email role's reaction job of the same name: given a batch of
 * entries, writes what the mails need in the reaction transaction (tokens, in one
 * statement) and returns each entry's mail, or undefined for none, in order.
 */
export type MailKind = (tx: PoolClient, entries: MailEntry[]) => Promise<Array<MailContent | undefined>>;

export type MailKinds = Partial<Record<JobName, MailKind>>;

/**
 * Of several entries for one user in a batch, only the last is mailed (one mail, one
 * live token); the others are done without a mail of their own.
 */
export function lastPerUser(entries: MailEntry[]): boolean[] {
  const last = new Map(entries.map((entry, index) => [entry.recipient.id, index]));
  return entries.map((entry, index) => last.get(entry.recipient.id) === index);
}
