import type { AppError } from '../../shared/errors.js';
import { describeWait } from '../../shared/rate-limit/rate-limited-error.js';
import type { Page } from './render-page.js';

/**
 * The page a form post from one of the HTML pages gets when it fails before its route
 * could answer with a page of its own: a spent rate limit, a body that cannot be read,
 * an outage. A person at a browser reads this instead of the API's JSON error body.
 */
export function failedFormPage(error: AppError): Page {
  if (error.code === 'rate_limited') {
    const seconds = Number(error.headers?.['Retry-After']);
    const wait = Number.isFinite(seconds) && seconds > 0 ? describeWait(seconds) : 'a while';
    return { title: 'Too many attempts', paragraphs: [`For your account's safety, please wait ${wait} before you try again.`] };
  }
  if (error.status >= 500) {
    return { title: 'Something went wrong', paragraphs: ['The service could not handle this just now. Please try again in a moment.'] };
  }
  return { title: 'This form could not be sent', paragraphs: ['Please go back, reload the page and try again.'] };
}
