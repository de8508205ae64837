import type { Config } from '../../shared/config/config.js';
import type { MailKinds } from './mail-kind.js';
import { passwordChangedMailKind } from './send-password-changed-mail.js';
import { passwordResetMailKind } from './send-password-reset-mail.js';
import { registrationAttemptMailKind } from './send-registration-attempt-mail.js';
import { verificationMailKind } from './send-verification-mail.js';

/** The account mails: verification, password reset, the password-changed notice and the registration-attempt notice. */
export function accountMailKinds(config: Pick<Config, 'publicUrl'>): MailKinds {
  return {
    'send-verification-mail': verificationMailKind(config.publicUrl),
    'send-password-reset-mail': passwordResetMailKind(config.publicUrl),
    'send-password-changed-mail': passwordChangedMailKind(),
    'send-registration-attempt-mail': registrationAttemptMailKind(),
  };
}
