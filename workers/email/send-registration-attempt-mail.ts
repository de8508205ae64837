import { registrationAttemptMail } from '../../shared/mail/templates/registration-attempt.js';
import { lastPerUser, type MailKind } from './mail-kind.js';

/**
 * send-registration-attempt-mail (on RegistrationAttempted): tells the owner of an
 * active account that someone registered with its address; one mail per user per batch.
 */
export function registrationAttemptMailKind(): MailKind<'send-registration-attempt-mail'> {
  return async (_tx, entries) => {
    const wanted = lastPerUser(entries);
    return entries.map(({ recipient, event }, index) => {
      if (!wanted[index] || recipient.status !== 'active') return undefined;
      return registrationAttemptMail(recipient.locale, { attemptedAt: new Date(event.occurred_at) });
    });
  };
}
