import { withTransaction, type Pool } from '../db/pool.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { findUserProfile, updateUserProfile, type ProfileChanges, type UserProfile } from '../db/queries/user-profiles.js';
import { shareLockUserStatus } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';

/** The profile as GET and PATCH /me/profile answer it. */
export function profileBody(profile: UserProfile) {
  return {
    display_name: profile.display_name,
    avatar_url: profile.avatar_url,
    locale: profile.locale,
    time_zone: profile.time_zone,
    updated_at: profile.updated_at,
  };
}

export async function findProfile(pool: Pool, userId: string) {
  const profile = await findUserProfile(pool, userId);
  if (!profile) throw new AppError('not_found');
  return profileBody(profile);
}

/**
 * Sets the given profile fields and writes ProfileUpdated, whose data names the fields
 * but never their values (personal data stays out of the event stream). The user row
 * is share-locked and must be active, so a deletion that commits first is not undone by
 * a late update writing a display name back.
 */
export async function updateProfile(pool: Pool, userId: string, changes: ProfileChanges) {
  return withTransaction(pool, async (tx) => {
    if ((await shareLockUserStatus(tx, userId)) !== 'active') throw new AppError('unauthorized');
    const profile = await updateUserProfile(tx, userId, changes);
    if (!profile) throw new AppError('not_found');
    await insertOutboxEvent(tx, createEvent('ProfileUpdated', userId, { fields: Object.keys(changes).sort().join(',') }));
    return profileBody(profile);
  });
}
