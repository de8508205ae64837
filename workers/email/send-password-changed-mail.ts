import { passwordChangedMail } from '../../shared/mail/templates/password-changed.js';
import type { MailKind } from './mail-kind.js';

/** send-password-changed-mail (on PasswordChanged): a notice to the owner, whatever the account's state. */
export function passwordChangedMailKind(): MailKind<'send-password-changed-mail'> {
  return async (_tx, entries) =>
    entries.map(({ recipient, event }) =>
      passwordChangedMail(recipient.locale, { changedAt: new Date(event.occurred_at), keptCurrentSession: event.data.reason === 'change' }),
    );
}
