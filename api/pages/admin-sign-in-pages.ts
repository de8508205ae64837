import type { Page } from './render-page.js';

/** The longest address and password the sign-in form sends; the login route's own bounds. */
const EMAIL_MAX = 1024;
const PASSWORD_MAX = 4096;

/** GET /admin/login: the dashboard's sign-in form; `error` says why the last try was refused. */
export function adminSignInPage(options: { email?: string; error?: string } = {}): Page {
  return {
    title: 'Sign in to the dashboard',
    paragraphs: ['The queue dashboard is for administrators of this service.'],
    ...(options.error ? { error: options.error } : {}),
    form: {
      action: 'login',
      hidden: {},
      emailField: { name: 'email', label: 'Email', ...(options.email ? { value: options.email.slice(0, EMAIL_MAX) } : {}) },
      passwordFields: [{ name: 'password', label: 'Password', minLength: 1, maxLength: PASSWORD_MAX, current: true }],
      submit: 'Sign in',
    },
  };
}

/**
 * The second step of a dashboard sign-in for an account with a second factor: a code from
 * the authenticator app or one of the recovery codes, posted with the sign-in's mfa_token.
 */
export function adminSecondStepPage(mfaToken: string, error?: string): Page {
  return {
    title: 'Enter your code',
    paragraphs: ['Enter the 6-digit code from your authenticator app, or one of your recovery codes.'],
    ...(error ? { error } : {}),
    form: { action: 'login/mfa', hidden: { mfa_token: mfaToken }, codeField: { name: 'code', label: 'Code', maxLength: 64 }, submit: 'Continue' },
  };
}

/** The body of the redirect to the dashboard, for a client that does not follow it. */
export function adminSignedInPage(): Page {
  return { title: 'Signed in', paragraphs: ['Continue to the queue dashboard at /admin/queues.'] };
}

/** A correct sign-in, or a request with a live session, of an account that is not an administrator. */
export function notAdminPage(): Page {
  return { title: 'Not an administrator', paragraphs: ['This account may not open the queue dashboard.'] };
}

/** GET /admin/logout: a button, since fetching a link must change nothing. */
export function adminSignOutPage(): Page {
  return { title: 'Sign out of the dashboard', paragraphs: ['This ends the dashboard session in this browser.'], form: { action: 'logout', hidden: {}, submit: 'Sign out' } };
}

/** The body of the redirect back to the sign-in form after signing out. */
export function adminSignedOutPage(): Page {
  return { title: 'Signed out', paragraphs: ['Sign in again at /admin/login.'] };
}

/** Where a browser without a usable dashboard session is sent. */
export function adminSignInRequiredPage(): Page {
  return { title: 'Sign-in required', paragraphs: ['Sign in at /admin/login to open the queue dashboard.'] };
}
