import { z } from 'zod';

/** A required string field with contract-stable messages (no echo of the input). */
export function requiredString(max: number) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, { error: 'is required' })
    .max(max, { error: `must be at most ${max} characters` });
}

// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;

export function optionalText(max: number) {
  return z
    .string({ error: 'must be a string' })
    .max(max, { error: `must be at most ${max} characters` })
    .regex(NO_CONTROL, { error: 'must not contain control characters' })
    .optional();
}

function isLocale(value: string): boolean {
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

const TIME_ZONES = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);

export const localeField = z
  .string({ error: 'must be a string' })
  .max(35, { error: 'must be a BCP 47 language tag' })
  .refine(isLocale, { error: 'must be a BCP 47 language tag' })
  .optional();

export const timeZoneField = z
  .string({ error: 'must be a string' })
  .refine((value) => TIME_ZONES.has(value), { error: 'must be an IANA time zone' })
  .optional();

/** Like optionalText, and null clears the field; blank is not a value. */
export function nullableText(max: number) {
  return z
    .string({ error: 'must be a string or null' })
    .max(max, { error: `must be at most ${max} characters` })
    .regex(NO_CONTROL, { error: 'must not contain control characters' })
    .refine((value) => value.trim().length > 0, { error: 'must not be blank' })
    .nullable()
    .optional();
}

export const AVATAR_URL_MAX = 2048;

/** An https URL with a host and no credentials, stored in its parsed form; null clears it. */
function isAvatarUrl(value: string): boolean {
  if (/[\s\p{Cc}\p{Cf}]/u.test(value) || !URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === '';
}

export const avatarUrlField = z
  .string({ error: 'must be a string or null' })
  .max(AVATAR_URL_MAX, { error: `must be at most ${AVATAR_URL_MAX} characters` })
  .refine(isAvatarUrl, { error: 'must be an https URL' })
  .transform((value) => new URL(value).href)
  .refine((href) => href.length <= AVATAR_URL_MAX, { error: `must be at most ${AVATAR_URL_MAX} characters` })
  .nullable()
  .optional();
