import { hashToken, randomToken } from '../../shared/crypto/random-token.js';
import { insertLinkTokens } from '../../shared/db/queries/link-tokens.js';
import { PASSWORD_RESET_TTL_SECONDS } from '../../shared/domain/mail-link-tokens.js';
import { mailLink } from '../../shared/mail/mail-link.js';
import { passwordResetMail } from '../../shared/mail/templates/password-reset.js';
import { lastPerUser, type MailKind } from './mail-kind.js';

/**
 * send-password-reset-mail (on PasswordResetRequested): a new 30 min reset token per
 * user (older ones expire) and the mail with its link to the stored address, while the
 * account is still active.
 */
export function passwordResetMailKind(publicUrl: string): MailKind<'send-password-reset-mail'> {
  return async (tx, entries) => {
    const wanted = lastPerUser(entries).map((last, index) => last && entries[index]!.recipient.status === 'active');
    const tokens = entries.map((_, index) => (wanted[index] ? randomToken() : undefined));
    await insertLinkTokens(
      tx,
      'password_resets',
      entries.flatMap((entry, index) => (tokens[index] ? [{ userId: entry.recipient.id, tokenHash: hashToken(tokens[index]) }] : [])),
      PASSWORD_RESET_TTL_SECONDS,
    );
    return entries.map((entry, index) => {
      const token = tokens[index];
      if (!token) return undefined;
      return passwordResetMail(entry.recipient.locale, {
        link: mailLink(publicUrl, '/password/reset', token),
        minutes: PASSWORD_RESET_TTL_SECONDS / 60,
      });
    });
  };
}
