/** The languages mail is written in; anything else falls back to English. */
export const MAIL_LOCALES = ['en', 'de'] as const;
export type MailLocale = (typeof MAIL_LOCALES)[number];

/** The mail language for a profile locale (a BCP 47 tag such as `de-AT`), by its language subtag. */
export function mailLocale(locale: string | null | undefined): MailLocale {
  const language = (locale ?? '').trim().toLowerCase().split(/[-_]/)[0];
  return (MAIL_LOCALES as readonly string[]).includes(language ?? '') ? (language as MailLocale) : 'en';
}
