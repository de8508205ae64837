import { secondsSinceSignIn } from '../../db/queries/sessions.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Services } from '../../services.js';
import { verifyOwnPassword } from '../verify-own-password.js';

/** How recent a sign-in must be to change second factors without the password. */
export const FRESH_SIGN_IN_SECONDS = 300;

export interface Reauthentication {
  userId: string;
  sessionId: string;
  ip: string | undefined;
  /** The password, when the client sends it instead of relying on a fresh sign-in. */
  password?: string | undefined;
  log?: Logger | undefined;
}

/**
 * Enrolling, activating or removing a factor and new recovery codes need proof that the
 * person is here, not only a token: a session signed in within the last 5 minutes, or
 * the password (checked under the `reauth` limit of the user, so a stolen access token is
 * no way to guess it). Without either: 401 reauthentication_required; a wrong password is
 * 401 invalid_credentials.
 */
export async function requireFreshSignIn(deps: Pick<Services, 'pool' | 'hasher' | 'rateLimits'>, who: Reauthentication): Promise<void> {
  if (who.password !== undefined) {
    const pass = await deps.rateLimits.consume('reauth', { ip: who.ip, account: who.userId }, { log: who.log });
    await verifyOwnPassword(deps, who.userId, who.password);
    await pass.refund();
    return;
  }
  const age = await secondsSinceSignIn(deps.pool, who.sessionId);
  if (age === undefined || age > FRESH_SIGN_IN_SECONDS) throw new AppError('reauthentication_required');
}
