import { AppError } from '../errors.js';

/** Lifetimes of the tokens mailed in links, and the cooldown between two such mails. */
export const EMAIL_VERIFICATION_TTL_SECONDS = 24 * 3_600;
export const PASSWORD_RESET_TTL_SECONDS = 30 * 60;
export const MAIL_REQUEST_COOLDOWN_SECONDS = 60;

/**
 * A mailed link's token that is unknown, used or expired. The contract answers these
 * with 400 invalid_token (a refresh token's invalid_token stays 401).
 */
export function invalidLinkToken(): AppError {
  return new AppError('invalid_token', { message: 'The link is invalid, was already used or has expired.', status: 400 });
}
