import type { Queryable } from '../pool.js';

export interface UserProfile {
  display_name: string | null;
  avatar_url: string | null;
  locale: string | null;
  time_zone: string | null;
  updated_at: Date;
}

export interface NewProfile {
  displayName?: string | undefined;
  locale?: string | undefined;
  timeZone?: string | undefined;
}

export async function insertUserProfile(db: Queryable, userId: string, profile: NewProfile): Promise<void> {
  await db.query(
    `INSERT INTO user_profiles (user_id, display_name, locale, time_zone)
     VALUES ($1, $2, coalesce($3, 'en'), coalesce($4, 'UTC'))`,
    [userId, profile.displayName ?? null, profile.locale ?? null, profile.timeZone ?? null],
  );
}

export async function findUserProfile(db: Queryable, userId: string): Promise<UserProfile | undefined> {
  const { rows } = await db.query<UserProfile>(
    'SELECT display_name, avatar_url, locale, time_zone, updated_at FROM user_profiles WHERE user_id = $1',
    [userId],
  );
  return rows[0];
}

/** Which profile fields to set; an absent key leaves the column as it is. */
export interface ProfileChanges {
  display_name?: string | null;
  avatar_url?: string | null;
  locale?: string;
  time_zone?: string;
}

/** Sets the given fields (one fixed statement: each column is set only when its flag is on). */
export async function updateUserProfile(db: Queryable, userId: string, changes: ProfileChanges): Promise<UserProfile | undefined> {
  const { rows } = await db.query<UserProfile>(
    `UPDATE user_profiles SET
        display_name = CASE WHEN $2 THEN $3 ELSE display_name END,
        avatar_url   = CASE WHEN $4 THEN $5 ELSE avatar_url END,
        locale       = CASE WHEN $6 THEN $7 ELSE locale END,
        time_zone    = CASE WHEN $8 THEN $9 ELSE time_zone END,
        updated_at   = now()
      WHERE user_id = $1
      RETURNING display_name, avatar_url, locale, time_zone, updated_at`,
    [
      userId,
      'display_name' in changes,
      changes.display_name ?? null,
      'avatar_url' in changes,
      changes.avatar_url ?? null,
      'locale' in changes,
      changes.locale ?? null,
      'time_zone' in changes,
      changes.time_zone ?? null,
    ],
  );
  return rows[0];
}
