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
  /** Set by "this wasn't me": sign-in is refused until the password is reset. */
  password_reset_required: boolean;
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

/**
 * Credentials of a live (not deleted) account, matched case-insensitively, whether an
 * account guard is in force and which second factors it has (one round trip for all:
 * see recordSignIn). Prepared by name:
 * it runs on every login.
 */
export interface SignInCredentials extends UserCredentials {
  guarded: boolean;
  /** The types of the activated second factors (empty for most users). */
  mfa_types: Array<'totp' | 'webauthn'>;
  has_recovery_codes: boolean;
}

export async function findCredentialsByEmail(db: Queryable, email: string): Promise<SignInCredentials | undefined> {
  const { rows } = await db.query<SignInCredentials>({
    name: 'find-credentials-by-email',
    text: `SELECT id, status, password_hash, password_reset_required,
                  EXISTS (SELECT 1 FROM account_guards g WHERE g.user_id = users.id AND g.guarded_until > now()) AS guarded,
                  coalesce((SELECT array_agg(DISTINCT m.type ORDER BY m.type) FROM mfa_methods m
                             WHERE m.user_id = users.id AND m.activated_at IS NOT NULL), '{}') AS mfa_types,
                  EXISTS (SELECT 1 FROM recovery_codes c WHERE c.user_id = users.id AND c.used_at IS NULL) AS has_recovery_codes
             FROM users WHERE email = $1 AND status <> 'deleted'`,
    values: [email],
  });
  return rows[0];
}

/** Sets a new password hash; a new password also lifts a required reset. */
export async function updatePasswordHash(db: Queryable, userId: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2, password_reset_required = false, updated_at = now() WHERE id = $1', [
    userId,
    passwordHash,
  ]);
}

/** What a sign-in re-reads under the user's lock, after its (slow) password check. */
export interface SignInState {
  status: UserStatus;
  password_reset_required: boolean;
  /** The stored hash is still the one the password was verified against: no reset or change committed meanwhile. */
  password_unchanged: boolean;
}

/**
 * Locks the user row for opening a session (users before sessions: the lock order):
 * shared, or for update when the same transaction rewrites the hash, so two sign-ins
 * that both upgrade a hash queue up instead of deadlocking. `verifiedHash` is the hash
 * the password was checked against.
 */
export async function lockUserForSignIn(db: Queryable, userId: string, verifiedHash: string, forUpdate: boolean): Promise<SignInState | undefined> {
  const { rows } = await db.query<SignInState>(
    `SELECT status, password_reset_required, password_hash = $2 AS password_unchanged FROM users WHERE id = $1 ${forUpdate ? 'FOR NO KEY UPDATE' : 'FOR SHARE'}`,
    [userId, verifiedHash],
  );
  return rows[0];
}

/** Requires a password reset before the next sign-in (the user row stays locked until commit). */
export async function requirePasswordReset(db: Queryable, userId: string): Promise<void> {
  await db.query('UPDATE users SET password_reset_required = true, updated_at = now() WHERE id = $1', [userId]);
}

/** Locks a user row for an update that sessions and tokens follow (users first: the lock order). */
export async function lockUser(db: Queryable, userId: string): Promise<User | undefined> {
  const { rows } = await db.query<User>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [userId]);
  return rows[0];
}

/** Marks the address verified; false when it already was. */
export async function markEmailVerified(db: Queryable, userId: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1 AND NOT email_verified', [userId]);
  return rowCount === 1;
}

/** Locks a live (not deleted) account by email, matched case-insensitively. */
export async function lockUserByEmail(db: Queryable, email: string): Promise<Pick<User, 'id' | 'status'> | undefined> {
  const { rows } = await db.query<Pick<User, 'id' | 'status'>>(
    `SELECT id, status FROM users WHERE email = $1 AND status <> 'deleted' FOR UPDATE`,
    [email],
  );
  return rows[0];
}

/** Who a mail about an account goes to: the stored address, with the profile's locale. */
export interface MailRecipient {
  id: string;
  email: string;
  status: UserStatus;
  email_verified: boolean;
  locale: string | null;
}

/** The recipients of mails about these accounts (missing ids are absent). */
export async function findMailRecipients(db: Queryable, userIds: string[]): Promise<MailRecipient[]> {
  const { rows } = await db.query<MailRecipient>(
    `SELECT u.id, u.email, u.status, u.email_verified, p.locale
       FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = ANY($1::uuid[])`,
    [userIds],
  );
  return rows;
}

/** The credentials of an account by id, with its address (for the password policy). */
export async function findCredentialsById(db: Queryable, id: string): Promise<(UserCredentials & { email: string }) | undefined> {
  const { rows } = await db.query<UserCredentials & { email: string }>(
    'SELECT id, email, status, password_hash, password_reset_required FROM users WHERE id = $1',
    [id],
  );
  return rows[0];
}

/** Locks a user row for a change that sessions and tokens follow, returning its current hash (to see it did not change meanwhile). */
export async function lockCredentialsById(db: Queryable, id: string): Promise<Pick<UserCredentials, 'status' | 'password_hash'> | undefined> {
  const { rows } = await db.query<Pick<UserCredentials, 'status' | 'password_hash'>>(
    'SELECT status, password_hash FROM users WHERE id = $1 FOR UPDATE',
    [id],
  );
  return rows[0];
}

/**
 * Marks an account deleted and frees its address: the email becomes a unique,
 * undeliverable placeholder (RFC 2606 .invalid) and the hash one that no password
 * matches, so the address can register again and nothing can sign in as the old account.
 */
export async function markUserDeleted(db: Queryable, id: string): Promise<void> {
  await db.query(
    `UPDATE users SET status = 'deleted', email = 'deleted+' || id || '@invalid', password_hash = 'deleted',
            email_verified = false, password_reset_required = false, updated_at = now()
      WHERE id = $1`,
    [id],
  );
}

/** Share-locks a user row (a change to rows that follow it must not race a deletion); returns its status. */
export async function shareLockUserStatus(db: Queryable, id: string): Promise<UserStatus | undefined> {
  const { rows } = await db.query<{ status: UserStatus }>('SELECT status FROM users WHERE id = $1 FOR SHARE', [id]);
  return rows[0]?.status;
}

/** Sets the account's status (the row locked by the caller); returns the user as it is now. */
export async function updateUserStatus(db: Queryable, userId: string, status: Exclude<UserStatus, 'deleted'>): Promise<User> {
  const { rows } = await db.query<User>(`UPDATE users SET status = $2, updated_at = now() WHERE id = $1 RETURNING ${USER_COLUMNS}`, [userId, status]);
  return rows[0]!;
}

/** What the second step of a sign-in re-reads under the user's (shared) lock before it opens the session. */
export interface SecondStepState {
  status: UserStatus;
  email: string;
  password_hash: string;
  password_reset_required: boolean;
}

export async function lockUserForSecondStep(db: Queryable, userId: string): Promise<SecondStepState | undefined> {
  const { rows } = await db.query<SecondStepState>('SELECT status, email, password_hash, password_reset_required FROM users WHERE id = $1 FOR SHARE', [userId]);
  return rows[0];
}
