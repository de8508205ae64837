import { domainToASCII } from 'node:url';
import { AppError } from '../errors.js';

const MAX_LENGTH = 254;
const MAX_LOCAL_LENGTH = 64;
// A pragmatic subset of RFC 5321: printable local part, dotted domain with a letter TLD.
const LOCAL_PART = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]+$/u;
// Checked on the ASCII (IDNA) form, so a top-level domain may be an A-label (xn--p1ai for .рф).
const DOMAIN = /^(?=.{1,253}$)(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+(?:[\p{L}]{2,63}|xn--[a-z0-9-]{1,59})$/u;

/**
 * Trims and NFKC-normalises, so fullwidth and other compatibility forms collapse, and
 * writes the domain in its IDNA ASCII form, lower-case (bücher.de and XN--BCHER-KVA.DE
 * are both xn--bcher-kva.de: one mailbox, so one account and one rate-limit key). A domain
 * that is no IDNA name is left as it is (normalizeEmail refuses it).
 */
export function canonicalEmail(raw: string): string {
  const email = raw.normalize('NFKC').trim();
  const at = email.lastIndexOf('@');
  if (at < 0) return email;
  const ascii = domainToASCII(email.slice(at + 1));
  return ascii ? `${email.slice(0, at)}@${ascii}` : email;
}

/**
 * The canonical email as PostgreSQL's citext compares it, for keys that must name the
 * same account as the database does (the rate limits'). lower() maps each code point to
 * one (Unicode's simple case mapping), where String.toLowerCase() may map one to two
 * ("İ" to "i" and a combining dot) or lower a word-final "Σ" to "ς": with it, "vİctim@"
 * and "victim@" would be one account in the database but two to a limit.
 */
export function emailComparisonKey(raw: string): string {
  let key = '';
  for (const char of canonicalEmail(raw)) key += String.fromCodePoint(char.toLowerCase().codePointAt(0)!);
  return key;
}

/**
 * The canonical form of an email for storing, or 400 invalid_request naming the field.
 * The local part's case is kept as given; uniqueness is case-insensitive in the database
 * (citext); the domain is stored in its IDNA ASCII form (canonicalEmail).
 */
export function normalizeEmail(raw: string, field = 'email'): string {
  const email = canonicalEmail(raw);
  const invalid = (reason: string) => new AppError('invalid_request', { message: 'The email address is not valid.', fields: { [field]: reason } });
  if (email.length === 0) throw invalid('is required');
  if (email.length > MAX_LENGTH) throw invalid(`must be at most ${MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\s]/u.test(email)) throw invalid('must not contain spaces or control characters');
  // A MIME encoded-word (=?charset?b?...?=) that a mail server decodes could name another mailbox than the one stored.
  if (email.includes('=?') || email.includes('?=')) throw invalid('must not contain MIME encoded-words (=?...?=)');
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (at < 1 || local.length > MAX_LOCAL_LENGTH || !LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    throw invalid('must be a valid email address');
  }
  // canonicalEmail leaves a domain that domainToASCII refuses (bad punycode, non-ASCII it cannot map) as it was.
  if (!DOMAIN.test(domain) || domainToASCII(domain) !== domain) throw invalid('must be a valid email address');
  return email;
}
