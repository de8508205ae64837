import type { AccessTokens } from '../crypto/access-tokens.js';
import type { Pool } from '../db/pool.js';
import { findRoleNamesByUserId } from '../db/queries/roles.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { loginWithLimits } from '../rate-limit/login-with-limits.js';
import { endSession } from './end-sessions.js';
import type { ClientInfo, Credentials } from './login-user.js';
import type { IssuedTokens } from './open-session.js';
import { ADMIN_ROLE } from './manage-roles.js';
import type { SessionEndReason } from './revoke-user-sessions.js';

/** Where a sign-in at the dashboard's page stands once the password verified. */
export type AdminSignIn = { status: 'signed_in'; issued: IssuedTokens } | { status: 'not_admin' };

/** Ends the session unless it ended already (a concurrent sign-out everywhere): either way none is left. */
async function endSessionIfLive(pool: Pool, userId: string, sessionId: string, reason: SessionEndReason): Promise<void> {
  try {
    await endSession(pool, userId, sessionId, reason);
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'not_found')) throw error;
  }
}

/**
 * Whether an administrator whose password verified is signed in, or must do more first.
 * The one place the second factor step joins (a later issue); until then the password
 * is the whole sign-in.
 */
function completeAdminSignIn(issued: IssuedTokens): AdminSignIn {
  return { status: 'signed_in', issued };
}

/**
 * A sign-in at the dashboard: the one login path (limits, login_attempts row,
 * LoginSucceeded or LoginFailed, so it is scored like any sign-in), then the admin role,
 * read from the database. An account without it gets `not_admin`, and the session just
 * opened for it is ended at once (SessionRevoked, reason `not_admin`): nobody was handed
 * its tokens, so left live it would only show in the owner's session list as a sign-in
 * they cannot use or account for. Failures are loginWithLimits's.
 */
export async function signInAdmin(
  deps: Parameters<typeof loginWithLimits>[0],
  credentials: Credentials,
  client: ClientInfo,
  log?: Logger,
): Promise<AdminSignIn> {
  const issued = await loginWithLimits(deps, credentials, client, log);
  if (!(await findRoleNamesByUserId(deps.pool, issued.userId)).includes(ADMIN_ROLE)) {
    await endSessionIfLive(deps.pool, issued.userId, issued.sessionId, 'not_admin');
    return { status: 'not_admin' };
  }
  return completeAdminSignIn(issued);
}

/**
 * Ends the session an admin cookie's access token belongs to (reason `logout`). A token
 * that does not verify (expired, forged) or whose session already ended ends nothing.
 */
export async function signOutAdmin(deps: { pool: Pool; accessTokens: AccessTokens }, token: string): Promise<void> {
  const claims = await deps.accessTokens.verify(token).catch((error: unknown) => {
    if (error instanceof AppError) return undefined;
    throw error;
  });
  if (claims) await endSessionIfLive(deps.pool, claims.sub, claims.sid, 'logout');
}
