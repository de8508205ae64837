import type { KeysetPosition } from '../shared/db/keyset.js';
import { z } from 'zod';

/** A required string field with contract-stable messages (no echo of the input). */
export function requiredString(max: number) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, { error: 'is required' })
    .max(max, { error: `must be at most ${max} characters` });
}

/** An email and a password to sign in with: POST /login and the dashboard's sign-in form. Lengths only bound the input. */
export const credentialsBody = z.strictObject({
  email: requiredString(1024),
  password: requiredString(4096),
});

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

/** A mailed link's token (query or body): URL-safe text, bounded. */
export const linkToken = requiredString(512);

/** A resource id in a path; anything else is 404 (see parseInput). */
export const uuid = z.uuid();

/**
 * A point in time. Handlers hand over Dates, which JSON carries as ISO 8601 strings;
 * the reference shows the string (openapi-document.ts renders dates so).
 */
export const timestamp = z.date();

export const successMessage = z.object({ message: z.literal('success') });

/** The login and refresh answer (RFC 6749, 5.1). */
export const tokenBody = z
  .object({
    token: z.string().meta({ description: 'ES256 access token (JWT) for `Authorization: Bearer`' }),
    token_type: z.literal('Bearer'),
    expires_in: z.int().positive().meta({ description: 'Seconds until the access token expires' }),
    refresh_token: z.string().meta({ description: 'Single-use; POST /token/refresh rotates it' }),
  })
  .meta({ id: 'TokenResponse' });

export const TOKEN_EXAMPLE = {
  token: 'eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzaWQiOiIuLi4ifQ.c2lnbmF0dXJl',
  token_type: 'Bearer',
  expires_in: 900,
  refresh_token: 'qK3k2Jv0m3Qb6o1Vt0x9yA4dPz8cW5nR7sE2fH6gL1u',
};

export const profileBody = z
  .object({
    display_name: z.string().nullable(),
    avatar_url: z.string().nullable(),
    locale: z.string().nullable(),
    time_zone: z.string().nullable(),
    updated_at: timestamp,
  })
  .meta({ id: 'Profile' });

export const USER_STATUSES = ['active', 'locked', 'disabled', 'deleted'] as const;

/** A second factor as its owner and operators may see it: never its secret or key. */
export const mfaMethodSummary = z
  .object({
    id: z.uuid(),
    type: z.enum(['totp', 'webauthn']),
    label: z.string().nullable(),
    added_at: timestamp,
    last_used_at: timestamp.nullable(),
  })
  .meta({ id: 'MfaMethod' });

/** A session as its owner sees it; `device` is a short description of its user agent. */
export const sessionSummary = z.object({
  id: z.uuid(),
  device: z.string().nullable(),
  ip: z.string().nullable(),
  created_at: timestamp,
  last_used_at: timestamp,
  expires_at: timestamp,
});

const POSITION_AT = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d)?$/;

/** A page cursor as the API hands it out: opaque, base64url JSON of where the page ended. */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/** The `cursor` query parameter: one this API gave out (ids of the listing's kind), else 400 naming it. */
export function cursorParam(id: z.ZodType<string>) {
  return z
    .string({ error: 'must be a string' })
    .max(200, { error: 'is not a cursor this API gave out' })
    .transform((value, ctx): KeysetPosition => {
      try {
        const decoded: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
        if (Array.isArray(decoded) && decoded.length === 2 && typeof decoded[0] === 'string' && POSITION_AT.test(decoded[0]) && id.safeParse(decoded[1]).success) {
          return { at: decoded[0], id: decoded[1] as string };
        }
      } catch {
        // Not base64url JSON: refused below like any other foreign value.
      }
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this API gave out' });
      return z.NEVER;
    })
    .meta({ description: 'From `next_cursor` of the previous page; absent for the first page.' });
}

/** `limit` as a query parameter: 1 to 100, 50 when absent. */
export const limitParam = z
  .string({ error: 'must be a number from 1 to 100' })
  .regex(/^\d{1,3}$/, { error: 'must be a number from 1 to 100' })
  .transform(Number)
  .pipe(z.int().min(1, { error: 'must be a number from 1 to 100' }).max(100, { error: 'must be a number from 1 to 100' }))
  .optional()
  .default(50);

/** A date-time query parameter (RFC 3339 with an offset). */
export const dateTimeParam = z.iso
  .datetime({ offset: true, error: 'must be a date-time such as 2026-12-01T00:00:00Z' })
  .transform((value) => new Date(value))
  .optional();

export const booleanParam = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((value) => value === 'true')
  .optional();
