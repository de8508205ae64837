import { secondFactorChangedMail } from '../../shared/mail/templates/second-factor-changed.js';
import type { MailKind } from './mail-kind.js';

/** send-second-factor-mail (on MfaEnabled and MfaDisabled): a notice to the owner, with the factor's kind, never a secret. */
export function secondFactorMailKind(): MailKind<'send-second-factor-mail'> {
  return async (_tx, entries) =>
    entries.map(({ recipient, event }) =>
      secondFactorChangedMail(recipient.locale, {
        factor: event.data.method,
        change: event.type === 'MfaEnabled' ? 'enabled' : 'disabled',
        changedAt: new Date(event.occurred_at),
        byAdmin: event.data.actor_id !== undefined,
      }),
    );
}
