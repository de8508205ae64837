import type { Queryable } from '../pool.js';

/**
 * A scalar subquery giving the role names of the user in `userIdColumn`, sorted (an
 * empty array for most users), for statements that sign a token in the same round trip.
 */
export function roleNamesOfSql(userIdColumn: string): string {
  return `(SELECT coalesce(array_agg(r.name ORDER BY r.name), '{}') FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ${userIdColumn})`;
}

export async function findRoleNamesByUserId(db: Queryable, userId: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 ORDER BY r.name',
    [userId],
  );
  return rows.map((row) => row.name);
}

/** Gives the user the role (creating the role's row the first time a name is used); false when they had it. */
export async function grantRoleToUser(db: Queryable, userId: string, role: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH created AS (INSERT INTO roles (name) VALUES ($2) ON CONFLICT (name) DO NOTHING RETURNING id),
          r AS (SELECT id FROM created UNION ALL SELECT id FROM roles WHERE name = $2)
     INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM r LIMIT 1
     ON CONFLICT DO NOTHING`,
    [userId, role],
  );
  return rowCount === 1;
}

/** Takes the role from the user; false when they did not have it. */
export async function revokeRoleFromUser(db: Queryable, userId: string, role: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM user_roles WHERE user_id = $1 AND role_id = (SELECT id FROM roles WHERE name = $2)', [userId, role]);
  return rowCount === 1;
}

export interface RoleHolder {
  id: string;
  email: string;
  status: string;
  granted_at: Date;
}

/** Live (not deleted) accounts holding the role, longest-standing first. */
export async function findUsersWithRole(db: Queryable, role: string): Promise<RoleHolder[]> {
  const { rows } = await db.query<RoleHolder>(
    `SELECT u.id, u.email, u.status, ur.granted_at
       FROM user_roles ur JOIN roles r ON r.id = ur.role_id JOIN users u ON u.id = ur.user_id
      WHERE r.name = $1 AND u.status <> 'deleted'
      ORDER BY ur.granted_at, u.id`,
    [role],
  );
  return rows;
}
