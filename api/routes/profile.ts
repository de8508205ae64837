import Router from '@koa/router';
import { z } from 'zod';
import { findProfile, updateProfile } from '../../shared/domain/update-profile.js';
import type { Services } from '../../shared/services.js';
import { requireAuth, type AuthState } from '../middleware/koa-require-auth.js';
import { avatarUrlField, localeField, nullableText, timeZoneField } from '../schemas.js';
import { validate } from '../validate.js';

/**
 * PATCH /me/profile: any of the four fields, nothing else (a stray key is named in the
 * 400). null clears display_name and avatar_url; locale and time_zone always hold a value.
 */
const profilePatchSchema = z
  .strictObject({
    display_name: nullableText(100),
    avatar_url: avatarUrlField,
    locale: localeField,
    time_zone: timeZoneField,
  })
  .refine((patch) => Object.keys(patch).length > 0, { error: 'must set at least one field', path: ['body'] });

/** GET /me/profile and PATCH /me/profile (the updated profile back). */
export function profileRoutes(services: Services): Router {
  const auth = requireAuth(services);
  return new Router()
    .get('/me/profile', auth, async (ctx) => {
      const { userId } = ctx.state.auth as AuthState;
      ctx.body = await findProfile(services.pool, userId);
    })
    .patch('/me/profile', auth, async (ctx) => {
      const { userId } = ctx.state.auth as AuthState;
      const patch = validate(profilePatchSchema, ctx.request.body);
      // A locale is stored in its canonical form (de-at -> de-AT).
      if (patch.locale !== undefined) patch.locale = Intl.getCanonicalLocales(patch.locale)[0]!;
      ctx.body = await updateProfile(services.pool, userId, patch);
    });
}
