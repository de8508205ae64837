import type { Queryable } from '../pool.js';

export async function findRoleNamesByUserId(db: Queryable, userId: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 ORDER BY r.name',
    [userId],
  );
  return rows.map((row) => row.name);
}
