import { mailLocale } from './mail-locale.js';
import { renderMail, type MailContent } from './render-mail.js';

const TEXTS = {
  en: (when: string, others: boolean) => ({
    subject: 'Your password was changed',
    greeting: 'Hello,',
    intro: [`the password of your account was changed on ${when} (UTC), and every ${others ? 'other ' : ''}session was signed out.`],
    outro: ['If this was you, there is nothing to do. If it was not, request a password reset at once and contact us.'],
    signature: 'Your account team',
  }),
  de: (when: string, others: boolean) => ({
    subject: 'Ihr Passwort wurde geändert',
    greeting: 'Hallo,',
    intro: [`das Passwort Ihres Kontos wurde am ${when} (UTC) geändert, und alle ${others ? 'anderen ' : ''}Sitzungen wurden abgemeldet.`],
    outro: ['Wenn Sie das waren, ist nichts zu tun. Wenn nicht, setzen Sie Ihr Passwort sofort zurück und melden Sie sich bei uns.'],
    signature: 'Ihr Konto-Team',
  }),
};

/** "yyyy-mm-dd hh:mm" in UTC: the same in every language, and no URL-like text. */
function formatUtc(date: Date): string {
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * The notice sent to the owner after a password change; it carries no link.
 * `keptCurrentSession`: a change while signed in ends only the other sessions.
 */
export function passwordChangedMail(
  locale: string | null | undefined,
  { changedAt, keptCurrentSession = false }: { changedAt: Date; keptCurrentSession?: boolean },
): MailContent {
  const language = mailLocale(locale);
  return renderMail({ locale: language, ...TEXTS[language](formatUtc(changedAt), keptCurrentSession) });
}
