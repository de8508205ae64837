import { z } from 'zod';
import { findProfile, updateProfile } from '../../shared/domain/update-profile.js';
import { defineRoute } from '../contract/route-declaration.js';
import { avatarUrlField, localeField, nullableText, profileBody, timeZoneField } from '../schemas.js';

/**
 * Any of the four fields, nothing else (a stray key is named in the 400). null clears
 * display_name and avatar_url; locale and time_zone always hold a value.
 */
const profilePatch = z
  .strictObject({
    display_name: nullableText(100),
    avatar_url: avatarUrlField,
    locale: localeField,
    time_zone: timeZoneField,
  })
  .refine((patch) => Object.keys(patch).length > 0, { error: 'must set at least one field', path: ['body'] });

export const getProfileRoute = defineRoute({
  method: 'get',
  path: '/me/profile',
  operationId: 'getProfile',
  summary: 'The signed-in user\'s profile',
  tag: 'Account',
  access: 'bearer',
  responses: { 200: { description: 'The profile.', json: profileBody } },
  errors: ['not_found'],
}).handle(async ({ auth, services }) => {
  return { status: 200, body: await findProfile(services.pool, auth.userId) };
});

export const updateProfileRoute = defineRoute({
  method: 'patch',
  path: '/me/profile',
  operationId: 'updateProfile',
  summary: 'Change profile fields',
  description: 'Writes `ProfileUpdated` naming the fields set, never their values.',
  tag: 'Account',
  access: 'bearer',
  request: { body: profilePatch, example: { display_name: 'Ada', locale: 'de-AT', time_zone: 'Europe/Vienna' } },
  responses: { 200: { description: 'The updated profile.', json: profileBody } },
  errors: ['not_found'],
  limit: { action: 'profile', account: 'user' },
}).handle(async ({ auth, body, services }) => {
  // A locale is stored in its canonical form (de-at -> de-AT).
  const patch = body.locale === undefined ? body : { ...body, locale: Intl.getCanonicalLocales(body.locale)[0]! };
  return { status: 200, body: await updateProfile(services.pool, auth.userId, patch) };
});
