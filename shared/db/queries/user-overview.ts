import type { Queryable } from '../pool.js';
import type { MfaMethodSummary } from './mfa-methods.js';
import type { UserProfile } from './user-profiles.js';
import type { User } from './users.js';

/** A user with profile, role names and second-factor summaries (never a hash, secret or key). */
export interface UserOverview extends User {
  profile: Omit<UserProfile, 'updated_at'> | null;
  roles: string[];
  mfa: MfaMethodSummary[];
}

/**
 * Everything GET /me shows, in one statement: it runs on every such request, and one
 * round trip instead of four halves PostgreSQL's share of the work (bench/me.ts).
 * Prepared by name for the same reason.
 */
export async function findUserOverview(db: Queryable, userId: string): Promise<UserOverview | undefined> {
  const { rows } = await db.query<UserOverview>({
    name: 'find-user-overview',
    text: `SELECT u.id, u.email, u.email_verified, u.status, u.created_at, u.updated_at,
                  (SELECT json_build_object('display_name', p.display_name, 'avatar_url', p.avatar_url,
                                            'locale', p.locale, 'time_zone', p.time_zone)
                     FROM user_profiles p WHERE p.user_id = u.id) AS profile,
                  coalesce((SELECT json_agg(r.name ORDER BY r.name)
                              FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '[]') AS roles,
                  coalesce((SELECT json_agg(json_build_object('id', m.id, 'type', m.type, 'label', m.label,
                                                              'added_at', m.added_at, 'last_used_at', m.last_used_at) ORDER BY m.added_at)
                              FROM mfa_methods m WHERE m.user_id = u.id AND m.activated_at IS NOT NULL), '[]') AS mfa
             FROM users u WHERE u.id = $1`,
    values: [userId],
  });
  const row = rows[0];
  if (!row) return undefined;
  // Timestamps inside JSON arrive as text: back to Dates, as every other query returns them.
  const mfa = (row.mfa as Array<MfaMethodSummary & { added_at: string; last_used_at: string | null }>).map((method) => ({
    ...method,
    added_at: new Date(method.added_at),
    last_used_at: method.last_used_at === null ? null : new Date(method.last_used_at),
  }));
  return { ...row, mfa };
}
