import type { KeysetPosition } from '../keyset.js';
import type { Queryable } from '../pool.js';
import { roleNamesOfSql } from './roles.js';
import type { UserStatus } from './users.js';

export interface UserSearch {
  /** The start of the address, matched case-insensitively. */
  emailPrefix?: string;
  status?: UserStatus;
  verified?: boolean;
  createdFrom?: Date;
  createdTo?: Date;
  after?: KeysetPosition;
  limit: number;
}

export interface UserListing {
  id: string;
  email: string;
  email_verified: boolean;
  status: UserStatus;
  created_at: Date;
  updated_at: Date;
  display_name: string | null;
  roles: string[];
  /** This row's position, for the next page's cursor. */
  position: KeysetPosition;
}

const LISTING_SELECT = `SELECT u.id, u.email, u.email_verified, u.status, u.created_at, u.updated_at, u.created_at::text AS position_at,
            p.display_name, ${roleNamesOfSql('u.id')} AS roles
       FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id`;

type ListingRow = Omit<UserListing, 'position'> & { position_at: string };

function toListing({ position_at, ...row }: ListingRow): UserListing {
  return { ...row, position: { at: position_at, id: row.id } };
}

/** LIKE's own characters in a prefix match literally. */
function likePrefix(prefix: string): string {
  return `${prefix.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * Accounts newest first, filtered, one keyset page at a time: a page starts strictly
 * after the last (created_at, id) of the one before, so rows inserted meanwhile (newer,
 * hence before the cursor) neither repeat nor shift a row out of the listing. The prefix
 * match runs on lower(email) so the users_email_prefix_idx index serves it.
 */
export async function searchUsers(db: Queryable, search: UserSearch): Promise<UserListing[]> {
  const { rows } = await db.query<ListingRow>(
    `${LISTING_SELECT}
      WHERE ($1::text IS NULL OR lower(u.email::text) LIKE $1)
        AND ($2::text IS NULL OR u.status = $2)
        AND ($3::boolean IS NULL OR u.email_verified = $3)
        AND ($4::timestamptz IS NULL OR u.created_at >= $4)
        AND ($5::timestamptz IS NULL OR u.created_at < $5)
        AND ($6::timestamptz IS NULL OR (u.created_at, u.id) < ($6::timestamptz, $7::uuid))
      ORDER BY u.created_at DESC, u.id DESC
      LIMIT $8`,
    [
      search.emailPrefix === undefined ? null : likePrefix(search.emailPrefix),
      search.status ?? null,
      search.verified ?? null,
      search.createdFrom ?? null,
      search.createdTo ?? null,
      search.after?.at ?? null,
      search.after?.id ?? null,
      search.limit,
    ],
  );
  return rows.map(toListing);
}

/** One account as the listing shows it, deleted ones included; undefined for an unknown id. */
export async function findUserListing(db: Queryable, userId: string): Promise<UserListing | undefined> {
  const { rows } = await db.query<ListingRow>(`${LISTING_SELECT} WHERE u.id = $1`, [userId]);
  return rows[0] && toListing(rows[0]);
}
