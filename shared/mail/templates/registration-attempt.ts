import { mailLocale } from './mail-locale.js';
import { renderMail, type MailContent } from './render-mail.js';

const TEXTS = {
  en: (when: string) => ({
    subject: 'Someone tried to register with your address',
    greeting: 'Hello,',
    intro: [`on ${when} (UTC), someone tried to create a new account with this email address. You already have an account, so no second one was created.`],
    outro: [
      'If this was you, sign in with your existing account; if you forgot your password, choose "Forgot password" on the sign-in page.',
      'If it was not you, there is nothing to do: your account is unchanged.',
    ],
    signature: 'Your account team',
  }),
  de: (when: string) => ({
    subject: 'Jemand wollte sich mit Ihrer Adresse registrieren',
    greeting: 'Hallo,',
    intro: [`am ${when} (UTC) hat jemand versucht, mit dieser E-Mail-Adresse ein neues Konto anzulegen. Sie haben bereits ein Konto, daher wurde kein zweites angelegt.`],
    outro: [
      'Wenn Sie das waren, melden Sie sich mit Ihrem bestehenden Konto an; falls Sie Ihr Passwort vergessen haben, wählen Sie auf der Anmeldeseite „Passwort vergessen“.',
      'Wenn nicht, ist nichts zu tun: Ihr Konto ist unverändert.',
    ],
    signature: 'Ihr Konto-Team',
  }),
};

/**
 * The notice to an account's owner that its address was used to register again
 * (REGISTER_ENUMERATION_SAFE). It carries no link: nothing in it needs a token.
 */
export function registrationAttemptMail(locale: string | null | undefined, { attemptedAt }: { attemptedAt: Date }): MailContent {
  const language = mailLocale(locale);
  return renderMail({ locale: language, ...TEXTS[language](attemptedAt.toISOString().slice(0, 16).replace('T', ' ')) });
}
