import { mailLocale } from './mail-locale.js';
import { renderMail, type MailContent } from './render-mail.js';

export interface NewSignInFacts {
  /** PUBLIC_URL/security/not-me?token=… */
  link: string;
  signedInAt: Date;
  /** The client's IP address as the server saw it. */
  ip: string | undefined;
  /** A fixed-vocabulary device name (describeDevice), never the raw user agent. */
  device: string | undefined;
  hours: number;
}

function details(facts: NewSignInFacts, labels: { when: string; ip: string; device: string; unknown: string }): string[] {
  const when = facts.signedInAt.toISOString().slice(0, 16).replace('T', ' ');
  return [`${labels.when}: ${when} (UTC)`, `${labels.ip}: ${facts.ip ?? labels.unknown}`, `${labels.device}: ${facts.device ?? labels.unknown}`];
}

const TEXTS = {
  en: (facts: NewSignInFacts) => ({
    subject: 'New sign-in to your account',
    greeting: 'Hello,',
    intro: [
      'your account was just signed in to from a network and device it had not been used from before.',
      ...details(facts, { when: 'When', ip: 'IP address', device: 'Device', unknown: 'unknown' }),
      'If this was you, there is nothing to do. If it was not, open this link and confirm: every session is signed out and the password must be reset before anyone can sign in again.',
    ],
    label: 'This was not me',
    outro: [`The link works once and expires in ${facts.hours} hours.`],
    signature: 'Your account team',
  }),
  de: (facts: NewSignInFacts) => ({
    subject: 'Neue Anmeldung bei Ihrem Konto',
    greeting: 'Hallo,',
    intro: [
      'bei Ihrem Konto hat sich soeben jemand aus einem Netz und mit einem Gerät angemeldet, die bisher nicht verwendet wurden.',
      ...details(facts, { when: 'Zeitpunkt', ip: 'IP-Adresse', device: 'Gerät', unknown: 'unbekannt' }),
      'Wenn Sie das waren, ist nichts zu tun. Wenn nicht, öffnen Sie diesen Link und bestätigen Sie: Alle Sitzungen werden abgemeldet, und vor der nächsten Anmeldung muss das Passwort zurückgesetzt werden.',
    ],
    label: 'Das war ich nicht',
    outro: [`Der Link funktioniert einmal und läuft in ${facts.hours} Stunden ab.`],
    signature: 'Ihr Konto-Team',
  }),
};

/** The "new sign-in" notice with its one "this wasn't me" link, in the user's language. */
export function newSignInMail(locale: string | null | undefined, facts: NewSignInFacts): MailContent {
  const language = mailLocale(locale);
  const t = TEXTS[language](facts);
  return renderMail({ locale: language, ...t, action: { label: t.label, url: facts.link } });
}
