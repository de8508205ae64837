import { mailLocale } from './mail-locale.js';
import { renderMail, type MailContent } from './render-mail.js';

export type FactorKind = 'totp' | 'webauthn' | 'recovery_codes';
export type FactorChange = 'enabled' | 'disabled';

const NAMES = {
  en: { totp: 'an authenticator app (one-time codes)', webauthn: 'a security key or passkey', recovery_codes: 'a new set of recovery codes' },
  de: { totp: 'eine Authenticator-App (Einmalcodes)', webauthn: 'ein Sicherheitsschlüssel oder Passkey', recovery_codes: 'ein neuer Satz Wiederherstellungscodes' },
};

const TEXTS = {
  en: (what: string, change: FactorChange, when: string, byAdmin: boolean) => ({
    subject: change === 'enabled' ? 'A second factor was added to your account' : 'A second factor was removed from your account',
    greeting: 'Hello,',
    intro: [`${change === 'enabled' ? 'This was added to' : 'This was removed from'} your account on ${when} (UTC)${byAdmin ? ' by an administrator' : ''}: ${what}.`],
    outro: ['If this was you, there is nothing to do. If it was not, change your password at once and contact us.'],
    signature: 'Your account team',
  }),
  de: (what: string, change: FactorChange, when: string, byAdmin: boolean) => ({
    subject: change === 'enabled' ? 'Ihrem Konto wurde ein zweiter Faktor hinzugefügt' : 'Ein zweiter Faktor wurde aus Ihrem Konto entfernt',
    greeting: 'Hallo,',
    intro: [`${change === 'enabled' ? 'Ihrem Konto wurde' : 'Aus Ihrem Konto wurde'} am ${when} (UTC)${byAdmin ? ' von einer Administratorin oder einem Administrator' : ''} Folgendes ${change === 'enabled' ? 'hinzugefügt' : 'entfernt'}: ${what}.`],
    outro: ['Wenn Sie das waren, ist nichts zu tun. Wenn nicht, ändern Sie sofort Ihr Passwort und melden Sie sich bei uns.'],
    signature: 'Ihr Konto-Team',
  }),
};

/** The notice to the owner when a second factor is added or removed (or new recovery codes are made); it carries no link. */
export function secondFactorChangedMail(
  locale: string | null | undefined,
  { factor, change, changedAt, byAdmin }: { factor: FactorKind; change: FactorChange; changedAt: Date; byAdmin: boolean },
): MailContent {
  const language = mailLocale(locale);
  const when = changedAt.toISOString().slice(0, 16).replace('T', ' ');
  return renderMail({ locale: language, ...TEXTS[language](NAMES[language][factor], change, when, byAdmin) });
}
