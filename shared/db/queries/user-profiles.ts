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
