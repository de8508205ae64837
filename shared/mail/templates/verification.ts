import { mailLocale } from './mail-locale.js';
import { renderMail, type MailContent } from './render-mail.js';

const TEXTS = {
  en: (hours: number) => ({
    subject: 'Confirm your email address',
    greeting: 'Hello,',
    intro: ['please confirm that this is your email address by opening the link below and pressing the button on the page:'],
    label: 'Confirm email address',
    outro: [`The link works once and expires in ${hours} hours. If you did not create an account, ignore this mail.`],
    signature: 'Your account team',
  }),
  de: (hours: number) => ({
    subject: 'Bestätigen Sie Ihre E-Mail-Adresse',
    greeting: 'Hallo,',
    intro: ['bitte bestätigen Sie, dass dies Ihre E-Mail-Adresse ist: Öffnen Sie den folgenden Link und klicken Sie auf der Seite auf die Schaltfläche.'],
    label: 'E-Mail-Adresse bestätigen',
    outro: [`Der Link funktioniert einmal und läuft in ${hours} Stunden ab. Wenn Sie kein Konto angelegt haben, ignorieren Sie diese E-Mail.`],
    signature: 'Ihr Konto-Team',
  }),
};

/** The verification mail in the user's language; `link` is PUBLIC_URL/email/verify?token=… */
export function verificationMail(locale: string | null | undefined, { link, hours }: { link: string; hours: number }): MailContent {
  const language = mailLocale(locale);
  const t = TEXTS[language](hours);
  return renderMail({ locale: language, ...t, action: { label: t.label, url: link } });
}
