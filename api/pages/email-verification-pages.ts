import type { Page } from './render-page.js';

/** GET /email/verify: confirming takes a press, so a scanner fetching the link changes nothing. */
export function verifyEmailPage(token: string): Page {
  return {
    title: 'Confirm your email address',
    paragraphs: ['Press the button to confirm that this email address is yours.'],
    form: { action: 'verify', hidden: { token }, submit: 'Confirm email address' },
  };
}

export function emailVerifiedPage(): Page {
  return { title: 'Email address confirmed', paragraphs: ['Thank you: your email address is confirmed. You can close this page.'] };
}

export function verificationFailedPage(): Page {
  return {
    title: 'This link does not work',
    paragraphs: ['The link is invalid, was already used or has expired. Sign in and ask for a new verification mail.'],
  };
}
