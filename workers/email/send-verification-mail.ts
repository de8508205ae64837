import { hashToken, randomToken } from '../../shared/crypto/random-token.js';
import { insertLinkTokens } from '../../shared/db/queries/link-tokens.js';
import { EMAIL_VERIFICATION_TTL_SECONDS } from '../../shared/domain/mail-link-tokens.js';
import { mailLink } from '../../shared/mail/mail-link.js';
import { verificationMail } from '../../shared/mail/templates/verification.js';
import { lastPerUser, type MailKind } from './mail-kind.js';

/**
 * send-verification-mail (on UserRegistered and EmailVerificationRequested): a new 24 h
 * token per user (older ones expire) and the mail with its link, unless the address is
 * verified by now.
 */
export function verificationMailKind(publicUrl: string): MailKind<'send-verification-mail'> {
  return async (tx, entries) => {
    const wanted = lastPerUser(entries).map((last, index) => last && !entries[index]!.recipient.email_verified);
    const tokens = entries.map((_, index) => (wanted[index] ? randomToken() : undefined));
    await insertLinkTokens(
      tx,
      'email_verification_tokens',
      entries.flatMap((entry, index) => (tokens[index] ? [{ userId: entry.recipient.id, tokenHash: hashToken(tokens[index]) }] : [])),
      EMAIL_VERIFICATION_TTL_SECONDS,
    );
    return entries.map((entry, index) => {
      const token = tokens[index];
      if (!token) return undefined;
      return verificationMail(entry.recipient.locale, {
        link: mailLink(publicUrl, '/email/verify', token),
        hours: EMAIL_VERIFICATION_TTL_SECONDS / 3_600,
      });
    });
  };
}
