import { mailLocale } from './mail-locale.js';
import { renderMail, type MailContent } from './render-mail.js';

const TEXTS = {
  en: (minutes: number) => ({
    subject: 'Reset your password',
    greeting: 'Hello,',
    intro: ['someone asked to reset the password of your account. To choose a new password, open this link:'],
    label: 'Choose a new password',
    outro: [
      `The link works once and expires in ${minutes} minutes. Setting a new password signs you out everywhere.`,
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ],
    signature: 'Your account team',
  }),
  de: (minutes: number) => ({
    subject: 'Setzen Sie Ihr Passwort zurück',
    greeting: 'Hallo,',
    intro: ['jemand möchte das Passwort Ihres Kontos zurücksetzen. Um ein neues Passwort zu wählen, öffnen Sie diesen Link:'],
    label: 'Neues Passwort wählen',
    outro: [
      `Der Link funktioniert einmal und läuft in ${minutes} Minuten ab. Ein neues Passwort meldet Sie überall ab.`,
      'Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: Ihr Passwort bleibt unverändert.',
    ],
    signature: 'Ihr Konto-Team',
  }),
};

/** The password-reset mail in the user's language; `link` is PUBLIC_URL/password/reset?token=… */
export function passwordResetMail(locale: string | null | undefined, { link, minutes }: { link: string; minutes: number }): MailContent {
  const language = mailLocale(locale);
  const t = TEXTS[language](minutes);
  return renderMail({ locale: language, ...t, action: { label: t.label, url: link } });
}
