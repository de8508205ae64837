import type { Page } from './render-page.js';

/** GET /security/not-me: confirming takes a press, so a scanner fetching the link changes nothing. */
export function confirmNotMePage(token: string): Page {
  return {
    title: 'This was not me',
    paragraphs: [
      'If you did not sign in, confirm below: every session of your account is signed out, and the password must be reset before anyone can sign in again.',
      'We will mail you a link to choose a new password.',
    ],
    form: { action: 'not-me', hidden: { token }, submit: 'Sign out everywhere' },
  };
}

export function notMeDonePage(): Page {
  return {
    title: 'Your account is secured',
    paragraphs: ['Every session was signed out. Choose a new password with the link we mailed you; until then nobody can sign in.'],
  };
}

export function notMeFailedPage(): Page {
  return {
    title: 'This link does not work',
    paragraphs: ['The link is invalid, was already used or has expired. If you still think someone else signed in, reset your password.'],
  };
}
