import { passwordChangedMail } from '../../shared/mail/templates/password-changed.js';
import type { MailKind } from './mail-kind.js';

/** send-password-changed-mail (on PasswordChanged): a notice to the owner, whatever the account's state. */
export function passwordChangedMailKind(): MailKind {
  return async (_tx, entries) =>
    entries.map(({ recipient, event }) => {
      const changedAt = new Date(event.occurred_at);
      return passwordChangedMail(recipient.locale, {
        changedAt: Number.isNaN(changedAt.getTime()) ? new Date() : changedAt,
        keptCurrentSession: event.data.reason === 'change',
      });
    });
}
