import type { Queryable } from '../pool.js';

/** A WebAuthn credential as the sign-in needs it: the COSE public key and the last signature counter. */
export interface WebauthnCredentialRow {
  id: string;
  user_id: string;
  label: string | null;
  /** base64url, as the browser's `credential.id`. */
  credential_id: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The signature counter last seen (0 for authenticators that keep none). */
  sign_count: number;
  transports: string[];
  backup_eligible: boolean;
  backed_up: boolean;
  user_handle: string;
}

const COLUMNS = `id, user_id, label, credential_id, webauthn_pub AS public_key, sign_count::int AS sign_count, coalesce(transports, '{}') AS transports,
                 coalesce(backup_eligible, false) AS backup_eligible, coalesce(backed_up, false) AS backed_up, user_handle`;

export interface NewWebauthnCredential {
  userId: string;
  label: string;
  credentialId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  backupEligible: boolean;
  backedUp: boolean;
  discoverable: boolean | undefined;
  aaguid: string;
  userHandle: string;
}

/** Stores a verified registration, active at once; undefined when the credential id is registered already (to anyone). */
export async function insertWebauthnCredential(db: Queryable, credential: NewWebauthnCredential): Promise<{ id: string; added_at: Date } | undefined> {
  const { rows } = await db.query<{ id: string; added_at: Date }>(
    `INSERT INTO mfa_methods (user_id, type, label, credential_id, webauthn_pub, sign_count, transports, backup_eligible, backed_up, discoverable, aaguid, user_handle, activated_at)
     VALUES ($1, 'webauthn', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
     ON CONFLICT (credential_id) WHERE credential_id IS NOT NULL DO NOTHING
     RETURNING id, added_at`,
    [
      credential.userId,
      credential.label,
      credential.credentialId,
      credential.publicKey,
      credential.signCount,
      credential.transports,
      credential.backupEligible,
      credential.backedUp,
      credential.discoverable ?? null,
      credential.aaguid,
      credential.userHandle,
    ],
  );
  return rows[0];
}

/** The user's credentials, for excludeCredentials and allowCredentials. */
export async function findWebauthnCredentialsOfUser(db: Queryable, userId: string): Promise<Array<Pick<WebauthnCredentialRow, 'credential_id' | 'transports'>>> {
  const { rows } = await db.query<Pick<WebauthnCredentialRow, 'credential_id' | 'transports'>>(
    "SELECT credential_id, coalesce(transports, '{}') AS transports FROM mfa_methods WHERE user_id = $1 AND type = 'webauthn' ORDER BY added_at, id",
    [userId],
  );
  return rows;
}

export interface WebauthnCredentialListing {
  id: string;
  label: string | null;
  transports: string[];
  backup_eligible: boolean;
  backed_up: boolean;
  discoverable: boolean | null;
  added_at: Date;
  last_used_at: Date | null;
}

/** What the owner sees of each credential: no key, no credential id. */
export async function listWebauthnCredentials(db: Queryable, userId: string): Promise<WebauthnCredentialListing[]> {
  const { rows } = await db.query<WebauthnCredentialListing>(
    `SELECT id, label, coalesce(transports, '{}') AS transports, coalesce(backup_eligible, false) AS backup_eligible,
            coalesce(backed_up, false) AS backed_up, discoverable, added_at, last_used_at
       FROM mfa_methods WHERE user_id = $1 AND type = 'webauthn' ORDER BY added_at, id`,
    [userId],
  );
  return rows;
}

/** The owner of a credential id, without locking (a passkey sign-in learns who is signing in from it). */
export async function findWebauthnCredentialOwner(db: Queryable, credentialId: string): Promise<{ user_id: string; email: string; user_handle: string } | undefined> {
  const { rows } = await db.query<{ user_id: string; email: string; user_handle: string }>(
    `SELECT m.user_id, u.email, m.user_handle FROM mfa_methods m JOIN users u ON u.id = m.user_id
      WHERE m.credential_id = $1 AND m.type = 'webauthn'`,
    [credentialId],
  );
  return rows[0];
}

/** A credential of the user, locked for the step that checks an assertion against it. */
export async function lockWebauthnCredential(db: Queryable, userId: string, credentialId: string): Promise<WebauthnCredentialRow | undefined> {
  const { rows } = await db.query<WebauthnCredentialRow>(
    `SELECT ${COLUMNS} FROM mfa_methods WHERE user_id = $1 AND credential_id = $2 AND type = 'webauthn' FOR UPDATE`,
    [userId, credentialId],
  );
  return rows[0];
}

/** Records a verified assertion: the new counter, the backup state, the use. */
export async function recordWebauthnUse(db: Queryable, id: string, signCount: number, backedUp: boolean): Promise<void> {
  await db.query('UPDATE mfa_methods SET sign_count = $2, backed_up = $3, last_used_at = now() WHERE id = $1', [id, signCount, backedUp]);
}

/** Removes one credential of the user; its row id when there was one. */
export async function deleteWebauthnCredential(db: Queryable, userId: string, id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>("DELETE FROM mfa_methods WHERE user_id = $1 AND id = $2 AND type = 'webauthn' RETURNING id", [userId, id]);
  return rows[0]?.id;
}

/** The latest live registration challenge of the user, spent by this read (single use). */
export async function takeRegistrationChallenge(db: Queryable, userId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ webauthn_challenge: string }>(
    `UPDATE mfa_challenges SET consumed_at = now()
      WHERE id = (SELECT id FROM mfa_challenges
                   WHERE user_id = $1 AND purpose = 'register' AND consumed_at IS NULL AND expires_at > now()
                   ORDER BY created_at DESC LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING webauthn_challenge`,
    [userId],
  );
  return rows[0]?.webauthn_challenge ?? undefined;
}

/** A new registration challenge voids the user's earlier ones. */
export async function voidRegistrationChallenges(db: Queryable, userId: string): Promise<void> {
  await db.query("UPDATE mfa_challenges SET consumed_at = now() WHERE user_id = $1 AND purpose = 'register' AND consumed_at IS NULL", [userId]);
}

/** Clears a second step's WebAuthn challenge: each one answers one assertion, right or wrong. */
export async function clearWebauthnChallenge(db: Queryable, challengeId: string): Promise<void> {
  await db.query('UPDATE mfa_challenges SET webauthn_challenge = NULL WHERE id = $1', [challengeId]);
}
