import type { Queryable } from '../pool.js';

export type ChallengePurpose = 'login' | 'passkey' | 'register';

export interface NewMfaChallenge {
  userId: string | undefined;
  purpose: ChallengePurpose;
  tokenHash: string;
  ttlSeconds: number;
  ip: string | undefined;
  userAgent: string | undefined;
  webauthnChallenge?: string;
}

export interface MfaChallenge {
  id: string;
  user_id: string | null;
  purpose: ChallengePurpose;
  webauthn_challenge: string | null;
  ip: string | null;
  user_agent: string | null;
  failed_attempts: number;
}

export async function insertMfaChallenge(db: Queryable, challenge: NewMfaChallenge): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO mfa_challenges (user_id, purpose, token_hash, expires_at, ip_addr, user_agent, webauthn_challenge)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5::inet, $6, $7) RETURNING id`,
    [challenge.userId ?? null, challenge.purpose, challenge.tokenHash, challenge.ttlSeconds, challenge.ip ?? null, challenge.userAgent ?? null, challenge.webauthnChallenge ?? null],
  );
  return rows[0]!.id;
}

/**
 * The live challenge of a token (not spent, not expired, fewer than `maxFailures` wrong
 * answers), locked for its step; undefined otherwise: one answer for every dead token.
 */
export async function lockLiveMfaChallenge(db: Queryable, tokenHash: string, purpose: ChallengePurpose, maxFailures: number): Promise<MfaChallenge | undefined> {
  const { rows } = await db.query<MfaChallenge>(
    `SELECT id, user_id, purpose, webauthn_challenge, host(ip_addr) AS ip, user_agent, failed_attempts
       FROM mfa_challenges
      WHERE token_hash = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > now() AND failed_attempts < $3
        FOR UPDATE`,
    [tokenHash, purpose, maxFailures],
  );
  return rows[0];
}

/** The user a live challenge belongs to, without locking it (the step locks the user first, then the challenge). */
export async function findLiveMfaChallengeUser(db: Queryable, tokenHash: string, purpose: ChallengePurpose): Promise<string | null | undefined> {
  const { rows } = await db.query<{ user_id: string | null }>(
    'SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > now()',
    [tokenHash, purpose],
  );
  return rows[0] ? rows[0].user_id : undefined;
}

export async function consumeMfaChallenge(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE mfa_challenges SET consumed_at = now() WHERE id = $1', [id]);
}

/** Counts a wrong answer; returns how many the challenge has had. */
export async function countFailedMfaAnswer(db: Queryable, id: string): Promise<number> {
  const { rows } = await db.query<{ failed_attempts: number }>('UPDATE mfa_challenges SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts', [id]);
  return rows[0]?.failed_attempts ?? 0;
}

export async function setWebauthnChallenge(db: Queryable, id: string, challenge: string): Promise<void> {
  await db.query('UPDATE mfa_challenges SET webauthn_challenge = $2 WHERE id = $1', [id, challenge]);
}

/** Ends the user's pending second steps (a password change, reset or lock voids them). */
export async function deleteMfaChallengesOfUser(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM mfa_challenges WHERE user_id = $1', [userId]);
}

/** Deletes up to `limit` challenges that expired more than an hour ago; returns how many. */
export async function deleteExpiredMfaChallenges(db: Queryable, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM mfa_challenges WHERE id IN (SELECT id FROM mfa_challenges WHERE expires_at < now() - interval '1 hour' LIMIT $1 FOR UPDATE SKIP LOCKED)`,
    [limit],
  );
  return rowCount ?? 0;
}
