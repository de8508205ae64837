import type { Queryable } from '../pool.js';

export type UserStatus = 'active' | 'locked' | 'disabled' | 'deleted';

/** A user row as the domain sees it. The password hash is only in UserCredentials. */
export interface User {
  id: string;
  email: string;
  email_verified: boolean;
  status: UserStatus;
  created_at: Date;
  updated_at: Date;
}

export interface UserCredentials {
  id: string;
  status: UserStatus;
  password_hash: string;
}

const USER_COLUMNS = 'id, email, email_verified, status, created_at, updated_at';

export async function insertUser(db: Queryable, email: string, passwordHash: string): Promise<User> {
  const { rows } = await db.query<User>(
    `INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING ${USER_COLUMNS}`,
    [email, passwordHash],
  );
  return rows[0]!;
}

export async function findUserById(db: Queryable, id: string): Promise<User | undefined> {
  const { rows } = await db.query<User>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0];
}

/** Credentials of a live (not deleted) account, matched case-insensitively. */
export async function findCredentialsByEmail(db: Queryable, email: string): Promise<UserCredentials | undefined> {
  const { rows } = await db.query<UserCredentials>(
    `SELECT id, status, password_hash FROM users WHERE email = $1 AND status <> 'deleted'`,
    [email],
  );
  return rows[0];
}

export async function updatePasswordHash(db: Queryable, userId: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [userId, passwordHash]);
}
