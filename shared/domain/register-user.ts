import crypto from 'node:crypto';
import { withTransaction } from '../db/pool.js';
import { insertOutboxEvent } from '../db/queries/outbox.js';
import { insertUserProfile } from '../db/queries/user-profiles.js';
import { insertUser } from '../db/queries/users.js';
import { AppError } from '../errors.js';
import { createEvent } from '../events/create-event.js';
import type { Services } from '../services.js';
import { normalizeEmail } from './email-address.js';
import { recordRegistrationAttempt } from './record-registration-attempt.js';

export interface Registration {
  email: string;
  password: string;
  displayName?: string | undefined;
  locale?: string | undefined;
  timeZone?: string | undefined;
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const pgError = error as { code?: string; constraint?: string };
  return pgError.code === '23505' && pgError.constraint === constraint;
}

/**
 * Creates the user, its profile and the UserRegistered event in one transaction.
 * A duplicate email, in any case or compatibility form, is 409 email_taken; with
 * REGISTER_ENUMERATION_SAFE it is the same 201 as a new account, carrying a random
 * user_id that is never stored, and the owner is mailed instead
 * (recordRegistrationAttempt). The password is checked and hashed either way, so both
 * answers take the same time.
 */
export async function registerUser(
  { pool, hasher, passwordPolicy, config }: Pick<Services, 'pool' | 'hasher' | 'passwordPolicy' | 'config'>,
  registration: Registration,
): Promise<{ userId: string }> {
  const email = normalizeEmail(registration.email);
  const password = await passwordPolicy.check(registration.password, email);
  const passwordHash = await hasher.hash(password);
  try {
    return await withTransaction(pool, async (tx) => {
      const user = await insertUser(tx, email, passwordHash);
      await insertUserProfile(tx, user.id, registration);
      await insertOutboxEvent(tx, createEvent('UserRegistered', user.id, { locale: registration.locale ?? 'en' }));
      return { userId: user.id };
    });
  } catch (error) {
    if (!isUniqueViolation(error, 'users_email_key')) throw error;
    if (!config.registerEnumerationSafe) throw new AppError('email_taken');
    await recordRegistrationAttempt(pool, email);
    return { userId: crypto.randomUUID() };
  }
}
