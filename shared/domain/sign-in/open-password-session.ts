import { withTransaction, type PoolClient } from '../../db/pool.js';
import { lockUserForSignIn, updatePasswordHash } from '../../db/queries/users.js';
import type { LoginDeps, VerifiedPassword } from '../login-user.js';
import { openSession, type IssuedTokens } from '../open-session.js';
import { refusalOf, refuse, type Refused } from './sign-in-refusals.js';

/** RFC 8176: a password alone. */
export const PASSWORD_AMR = ['pwd'] as const;

/**
 * When the stored hash has old parameters, rewrites it from the verified password in the
 * caller's transaction, under a lock on the user: a concurrent reset, change or "this
 * wasn't me" either sees what follows and undoes it, or has committed and is seen here
 * (and the hash of the old password is then never written over the new one). Returns
 * the hash now stored, or the refusal.
 */
export async function upgradeHashUnderLock(tx: PoolClient, deps: LoginDeps, verified: VerifiedPassword, upgradedHash: string): Promise<string | Refused> {
  const refused = refusalOf(await lockUserForSignIn(tx, verified.user.id, verified.user.password_hash, true));
  if (refused) return refused;
  await updatePasswordHash(tx, verified.user.id, upgradedHash);
  return upgradedHash;
}

/**
 * The session of a password-only sign-in, under the rule of refusalOf: in one statement
 * usually, or in a transaction that first writes the upgraded hash.
 */
export async function openPasswordSession(deps: LoginDeps, verified: VerifiedPassword): Promise<IssuedTokens> {
  const { user, attempt } = verified;
  const opening = { userId: user.id, email: attempt.email, ip: attempt.ip, userAgent: attempt.userAgent, verifiedHash: user.password_hash, amr: PASSWORD_AMR };
  const outcome = deps.hasher.needsRehash(user.password_hash)
    ? await withUpgradedHash(deps, verified, (tx, hash) => openSession(tx, deps, { ...opening, verifiedHash: hash }))
    : await openSession(deps.pool, deps, opening);
  if ('refusedBy' in outcome) {
    const refused = refusalOf(outcome.refusedBy);
    if (!refused) throw new Error('a sign-in recorded nothing although the account allowed it');
    return refuse(deps.pool, user.id, attempt, refused);
  }
  if ('code' in outcome) return refuse(deps.pool, user.id, attempt, outcome);
  return outcome.issued;
}

/** Runs `then` in the transaction that upgrades the hash; a refusal found under the lock comes back instead. */
export async function withUpgradedHash<T>(deps: LoginDeps, verified: VerifiedPassword, then: (tx: PoolClient, hash: string) => Promise<T>): Promise<T | Refused> {
  const upgradedHash = await deps.hasher.hash(verified.password);
  return withTransaction(deps.pool, async (tx) => {
    const hash = await upgradeHashUnderLock(tx, deps, verified, upgradedHash);
    return typeof hash === 'string' ? then(tx, hash) : hash;
  });
}
