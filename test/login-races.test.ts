import argon2 from 'argon2';
import { expect } from 'chai';
import type { PasswordHasher } from '../shared/crypto/password-hasher.js';
import { loginUser as loginInProcess } from '../shared/domain/login-user.js';
import { AppError } from '../shared/errors.js';
import { expectFailure, sql } from './support/expectations.js';
import { testApp } from './support/hooks.js';
import { loginUser, registerUser, request, strongPassword } from './support/http.js';

/**
 * The app's own hasher, except that each verify, once argon2 has answered, waits for
 * release(): the window in which a password reset or change can commit between a
 * login's password check and its session.
 */
function pausingHasher(hasher: PasswordHasher) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let verified!: () => void;
  const checked = new Promise<void>((resolve) => (verified = resolve));
  const paused: PasswordHasher = Object.create(hasher);
  paused.verify = async (hash, password) => {
    const ok = await hasher.verify(hash, password);
    verified();
    await released;
    return ok;
  };
  return { hasher: paused, checked, release };
}

/** Starts a login in this process whose password check pauses; resolves to its outcome once released. */
function pausedLogin(email: string, password: string) {
  const { services } = testApp();
  const pausing = pausingHasher(services.hasher);
  const outcome = loginInProcess({ ...services, hasher: pausing.hasher }, { email, password }, { ip: '192.0.2.7', userAgent: 'race' }).then(
    () => 'signed in',
    (error: unknown) => (error instanceof AppError ? error.code : `unexpected ${String(error)}`),
  );
  return { checked: pausing.checked, release: pausing.release, outcome };
}

async function liveSessions(userId: string): Promise<number> {
  const [row] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
  return row!.n;
}

/** A hash of `password` made with weaker parameters than the app's: the next login upgrades it. */
function weakHashOf(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 });
}

/**
 * Signs the user in once (the session that will change the password), starts a login
 * with the old password that pauses after its check, changes the password through the
 * API meanwhile, then lets the login go on: returns its outcome, having checked that
 * only the changing session is live and that only the new password signs in.
 */
async function changeDuringLogin(user: { email: string; password: string; userId: string }): Promise<string> {
  const { email, password, userId } = user;
  const { token } = await loginUser(email, password);
  const login = pausedLogin(email, password);
  await login.checked;

  const newPassword = strongPassword();
  const changed = await request('POST', '/password/change', {
    json: { current_password: password, new_password: newPassword },
    headers: { authorization: `Bearer ${token}` },
  });
  expect(changed.status, changed.text).to.equal(200);
  login.release();

  const outcome = await login.outcome;
  // Only the session that changed the password is left; the old password opened nothing.
  expect(await liveSessions(userId)).to.equal(1);
  expectFailure(await request('POST', '/login', { json: { email, password } }), 401, 'invalid_credentials');
  expect((await request('POST', '/login', { json: { email, password: newPassword } })).status).to.equal(200);
  return outcome;
}

describe('a login racing a change to its account', () => {
  it('opens no session once the change commits during its password check, and records the attempt as failed', async () => {
    const user = await registerUser();
    expect(await changeDuringLogin(user)).to.equal('invalid_credentials');
    const attempts = await sql<{ success: boolean; reason: string }>(`SELECT success, reason FROM login_attempts WHERE user_id = $1 AND user_agent = 'race'`, [
      user.userId,
    ]);
    expect(attempts).to.deep.equal([{ success: false, reason: 'password_changed' }]);
  });

  it('never writes the upgraded hash of the old password over the new one', async () => {
    const user = await registerUser();
    const weakHash = await weakHashOf(user.password);
    await sql('UPDATE users SET password_hash = $2 WHERE id = $1', [user.userId, weakHash]);
    expect(testApp().services.hasher.needsRehash(weakHash)).to.equal(true);
    expect(await changeDuringLogin(user)).to.equal('invalid_credentials');
  });

  it('opens no session for an account deleted during its password check, and records the attempt as for an unknown address', async () => {
    const { email, password, userId } = await registerUser();
    const { token } = await loginUser(email, password);
    const login = pausedLogin(email, password);
    await login.checked;

    const deleted = await request('DELETE', '/me', { json: { password }, headers: { authorization: `Bearer ${token}` } });
    expect(deleted.status, deleted.text).to.equal(204);
    login.release();

    expect(await login.outcome).to.equal('invalid_credentials');
    expect(await liveSessions(userId)).to.equal(0);
    const attempts = await sql<{ user_id: string | null; reason: string }>(`SELECT user_id, reason FROM login_attempts WHERE email = $1 AND user_agent = 'race'`, [
      email,
    ]);
    expect(attempts).to.deep.equal([{ user_id: null, reason: 'unknown_email' }]);
  });

  it('still signs in, and upgrades the hash, when nothing changed during the check', async () => {
    const { email, password, userId } = await registerUser();
    const weakHash = await weakHashOf(password);
    await sql('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, weakHash]);
    const login = pausedLogin(email, password);
    await login.checked;
    login.release();

    expect(await login.outcome).to.equal('signed in');
    expect(await liveSessions(userId)).to.equal(1);
    const [row] = await sql<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [userId]);
    expect(row!.password_hash).to.not.equal(weakHash);
    expect(testApp().services.hasher.needsRehash(row!.password_hash)).to.equal(false);
  });
});
