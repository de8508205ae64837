import { mailLocale } from './mail-locale.js';
import { renderMail, type MailContent } from './render-mail.js';

const TEXTS = {
  en: (until: string) => ({
    subject: 'Sign-ins to your account from new devices are paused',
    greeting: 'Hello,',
    intro: [
      'we saw many failed sign-in attempts on your account in a short time.',
      `Until ${until} (UTC), sign-ins from networks and devices that never signed in to your account before are refused. Your usual devices keep working as before.`,
    ],
    outro: [
      'If the failed attempts were not you, someone may be guessing your password: once signed in, choose a long password that you use nowhere else.',
    ],
    signature: 'Your account team',
  }),
  de: (until: string) => ({
    subject: 'Anmeldungen von neuen Geräten sind vorübergehend gesperrt',
    greeting: 'Hallo,',
    intro: [
      'bei Ihrem Konto gab es in kurzer Zeit viele fehlgeschlagene Anmeldeversuche.',
      `Bis ${until} (UTC) werden Anmeldungen aus Netzen und von Geräten abgelehnt, die sich noch nie bei Ihrem Konto angemeldet haben. Ihre gewohnten Geräte funktionieren weiter wie bisher.`,
    ],
    outro: [
      'Wenn die Fehlversuche nicht von Ihnen stammen, versucht womöglich jemand, Ihr Passwort zu erraten: Wählen Sie nach der Anmeldung ein langes Passwort, das Sie nirgends sonst verwenden.',
    ],
    signature: 'Ihr Konto-Team',
  }),
};

/** The notice that an account is guarded after a burst of failures; it carries no link. */
export function accountGuardedMail(locale: string | null | undefined, { until }: { until: Date }): MailContent {
  const language = mailLocale(locale);
  return renderMail({ locale: language, ...TEXTS[language](until.toISOString().slice(0, 16).replace('T', ' ')) });
}
