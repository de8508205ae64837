import type { Pool } from '../db/pool.js';
import { findCredentialsById, type UserCredentials } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';
import { PasswordPolicy } from './password-policy.js';

/**
 * Checks a signed-in user's password before a sensitive change (password change, account
 * deletion), through the bounded hasher. A wrong password is 401 invalid_credentials,
 * the same body as a failed login; callers re-check `password_hash` under the user's
 * row lock, so a password changed meanwhile is not trusted.
 */
export async function verifyOwnPassword(
  { pool, hasher }: { pool: Pool; hasher: Services['hasher'] },
  userId: string,
  password: string,
): Promise<UserCredentials & { email: string }> {
  const user = await findCredentialsById(pool, userId);
  if (!user || user.status === 'deleted') throw new AppError('unauthorized');
  if (!(await hasher.verify(user.password_hash, PasswordPolicy.normalize(password)))) throw new AppError('invalid_credentials');
  return user;
}
