import type { Config } from '../../shared/config/config.js';
import type { MailKinds } from './mail-kind.js';
import { passwordChangedMailKind } from './send-password-changed-mail.js';
import { passwordResetMailKind } from './send-password-reset-mail.js';
import { registrationAttemptMailKind } from './send-registration-attempt-mail.js';
import { secondFactorMailKind } from './send-second-factor-mail.js';
import { verificationMailKind } from './send-verification-mail.js';

/** The account mails: verification, password reset, and the notices of a password change, a registration attempt and a second factor's change. */
export function accountMailKinds(config: Pick<Config, 'publicUrl'>): MailKinds {
  return {
    'send-verification-mail': verificationMailKind(config.publicUrl),
    'send-password-reset-mail': passwordResetMailKind(config.publicUrl),
    'send-password-changed-mail': passwordChangedMailKind(),
    'send-registration-attempt-mail': registrationAttemptMailKind(),
    'send-second-factor-mail': secondFactorMailKind(),
  };
}
