import type { PasswordRules } from '../../shared/domain/password-policy.js';
import type { Page } from './render-page.js';

/** GET /password/reset: the new-password form; `error` says why the last try was refused. */
export function resetPasswordPage(token: string, rules: PasswordRules, error?: string): Page {
  return {
    title: 'Choose a new password',
    paragraphs: [`Use at least ${rules.minLength} characters. Setting it signs you out everywhere.`],
    ...(error ? { error } : {}),
    form: {
      action: 'reset',
      hidden: { token },
      passwordFields: [{ name: 'password', label: 'New password', minLength: rules.minLength, maxLength: rules.maxLength }],
      submit: 'Set new password',
    },
  };
}

export function passwordResetDonePage(): Page {
  return { title: 'Password changed', paragraphs: ['Your new password is set and every session was signed out. Sign in with the new password.'] };
}

export function resetFailedPage(): Page {
  return {
    title: 'This link does not work',
    paragraphs: ['The link is invalid, was already used or has expired. Ask for a new password reset mail.'],
  };
}
