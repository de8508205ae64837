import crypto from 'node:crypto';
import { expect } from 'chai';
import { insertAuditLog } from '../shared/db/queries/audit-logs.js';
import { testApp } from './support/hooks.js';
import { expectFailure, expectNoRowChange, sql } from './support/expectations.js';
import { loginUser, registerUser, request, strongPassword } from './support/http.js';
import { outboxEventsOf } from './support/mail-harness.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signedIn() {
  const user = await registerUser();
  const tokens = await loginUser(user.email, user.password);
  return { ...user, ...tokens };
}

describe('account deletion and export', function () {
  this.timeout(30_000);

  describe('DELETE /me', () => {
    it('deletes the account: status, sessions, refresh tokens, profile scrubbed, address freed, UserDeleted', async () => {
      const user = await signedIn();
      const second = await loginUser(user.email, user.password);
      await request('PATCH', '/me/profile', { json: { display_name: 'Old Name', avatar_url: 'https://example.com/me.png' }, headers: bearer(user.token) });

      const response = await request('DELETE', '/me', { json: { password: user.password }, headers: bearer(user.token) });
      expect(response.status, response.text).to.equal(204);
      expect(response.text).to.equal('');

      const [row] = await sql('SELECT email, status, password_hash, email_verified FROM users WHERE id = $1', [user.userId]);
      expect(row.status).to.equal('deleted');
      expect(row.email).to.equal(`deleted+${user.userId}@invalid`);
      expect(row.password_hash).not.to.match(/^\$argon2/);
      const [profile] = await sql('SELECT display_name, avatar_url, locale, time_zone FROM user_profiles WHERE user_id = $1', [user.userId]);
      expect(profile).to.deep.equal({ display_name: null, avatar_url: null, locale: null, time_zone: null });
      const sessions = await sql('SELECT revoked_at, ip_addr, user_agent FROM sessions WHERE user_id = $1', [user.userId]);
      expect(sessions).to.have.length(2);
      expect(sessions.every((s) => s.revoked_at !== null && s.ip_addr === null && s.user_agent === null)).to.equal(true);
      const tokens = await sql(
        'SELECT t.revoked_at FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1',
        [user.userId],
      );
      expect(tokens.every((t) => t.revoked_at !== null)).to.equal(true);
      const attempts = await sql('SELECT email, ip_addr FROM login_attempts WHERE user_id = $1', [user.userId]);
      expect(attempts.every((a) => a.email === null && a.ip_addr === null)).to.equal(true);

      const events = await outboxEventsOf(user.userId);
      expect(events.filter((e) => e.type === 'UserDeleted').map((e) => e.data)).to.deep.equal([{ sessions_revoked: 2 }]);
      expect(events.filter((e) => e.type === 'SessionRevoked').map((e) => e.data.reason)).to.deep.equal(['account_deleted', 'account_deleted']);
      expect(JSON.stringify(events)).not.to.include(user.email);

      for (const token of [user.token, second.token]) expectFailure(await request('GET', '/me', { headers: bearer(token) }), 401, 'unauthorized');
      // The old credentials get the unknown-account answer.
      const unknown = await request('POST', '/login', { json: { email: `nobody-${Date.now()}@example.com`, password: user.password } });
      const old = await request('POST', '/login', { json: { email: user.email, password: user.password } });
      expectFailure(old, 401, 'invalid_credentials');
      expect(old.text).to.equal(unknown.text);
    });

    it('the address can register again; the old password does not sign in to the new account', async () => {
      const user = await signedIn();
      expect((await request('DELETE', '/me', { json: { password: user.password }, headers: bearer(user.token) })).status).to.equal(204);
      const newPassword = strongPassword();
      const again = await request('POST', '/register', { json: { email: user.email.toUpperCase(), password: newPassword } });
      expect(again.status, again.text).to.equal(201);
      expect(again.body.user_id).not.to.equal(user.userId);
      expectFailure(await request('POST', '/login', { json: { email: user.email, password: user.password } }), 401, 'invalid_credentials');
      const fresh = await loginUser(user.email, newPassword);
      const me = await request('GET', '/me', { headers: bearer(fresh.token) });
      expect(me.body).to.include({ id: again.body.user_id, status: 'active' });
    });

    it('a wrong password is 401 invalid_credentials and changes nothing', async () => {
      const user = await signedIn();
      const response = await expectNoRowChange(() => request('DELETE', '/me', { json: { password: `${user.password}!` }, headers: bearer(user.token) }));
      expectFailure(response, 401, 'invalid_credentials');
      const [row] = await sql('SELECT status, email FROM users WHERE id = $1', [user.userId]);
      expect(row).to.deep.equal({ status: 'active', email: user.email });
      expect((await request('GET', '/me', { headers: bearer(user.token) })).status).to.equal(200);
    });

    it('ugly bodies are 400 and change nothing; without a token it is 401', async () => {
      const user = await signedIn();
      for (const json of [{}, { password: null }, { password: [user.password] }, { password: { p: 1 } }, { password: 1 }, { password: '' }, [], 'x', { password: 'x'.repeat(5000) }]) {
        const response = await expectNoRowChange(() => request('DELETE', '/me', { json, headers: bearer(user.token) }));
        expectFailure(response, 400, 'invalid_request');
      }
      expectFailure(await request('DELETE', '/me', { headers: bearer(user.token) }), 400, 'invalid_request');
      expectFailure(
        await request('DELETE', '/me', { raw: `{"password":"${user.password}","__proto__":{}}`, headers: { ...bearer(user.token), 'content-type': 'application/json' } }),
        400,
        'invalid_json',
      );
      expectFailure(await request('DELETE', '/me', { json: { password: user.password } }), 401, 'unauthorized');
      const [row] = await sql('SELECT status FROM users WHERE id = $1', [user.userId]);
      expect(row.status).to.equal('active');
    });
  });

  describe('GET /me/export', () => {
    it('answers the own data as a JSON attachment, with no hash or token', async () => {
      const user = await signedIn();
      await request('POST', '/login', { json: { email: user.email, password: 'wrong password here' } });
      await request('PATCH', '/me/profile', { json: { display_name: 'Exporter' }, headers: bearer(user.token) });
      await insertAuditLog(testApp().services.pool, {
        eventId: crypto.randomUUID(),
        userId: user.userId,
        actorId: user.userId,
        action: 'user.update_profile',
        ip: '203.0.113.9',
        metadata: { fields: 'display_name' },
        createdAt: new Date().toISOString(),
      });
      await sql("INSERT INTO mfa_methods (user_id, type, label, secret, activated_at) VALUES ($1, 'totp', 'phone', 'encrypted-seed-never-shown', now())", [user.userId]);
      const role = `role-${crypto.randomBytes(4).toString('hex')}`;
      await sql('WITH r AS (INSERT INTO roles (name) VALUES ($2) RETURNING id) INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM r', [user.userId, role]);
      const me = await request('GET', '/me', { headers: bearer(user.token) });
      expect(me.body.roles).to.deep.equal([role]);
      expect(me.body.mfa.enabled).to.equal(true);
      expect(me.body.mfa.methods).to.have.length(1);
      expect(me.body.mfa.methods[0]).to.include({ type: 'totp', label: 'phone', last_used_at: null });
      expect(me.body.mfa.methods[0].added_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(me.body.profile).to.deep.equal({ display_name: 'Exporter', avatar_url: null, locale: 'en', time_zone: 'UTC' });
      const response = await request('GET', '/me/export', { headers: { ...bearer(user.token), 'user-agent': 'curl/8.5.0' } });
      expect(response.status, response.text).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^application\/json/);
      expect(response.headers.get('content-disposition')).to.equal(`attachment; filename="user-data-${user.userId}.json"`);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      const data = response.body;
      expect(Object.keys(data).sort()).to.deep.equal(['audit_log', 'exported_at', 'login_history', 'mfa_methods', 'profile', 'roles', 'sessions', 'user']);
      expect(data.user).to.include({ id: user.userId, email: user.email, status: 'active' });
      expect(data.profile).to.include({ display_name: 'Exporter' });
      expect(data.roles).to.deep.equal([role]);
      expect(data.mfa_methods.map((m: { label: string }) => m.label)).to.deep.equal(['phone']);
      expect(response.text).not.to.include('encrypted-seed-never-shown');
      expect(data.sessions).to.have.length(1);
      expect(data.login_history.map((a: { success: boolean }) => a.success)).to.deep.equal([false, true]);
      expect(data.audit_log).to.have.length(1);
      expect(data.audit_log[0]).to.include({ action: 'user.update_profile', actor_id: user.userId, ip: '203.0.113.9' });
      expect(data.audit_log[0].metadata).to.deep.equal({ fields: 'display_name' });

      const [secret] = await sql('SELECT password_hash FROM users WHERE id = $1', [user.userId]);
      const hashes = await sql('SELECT t.token_hash FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1', [user.userId]);
      expect(response.text).not.to.include(secret.password_hash);
      expect(response.text).not.to.include(user.password);
      expect(response.text).not.to.include(user.refresh_token);
      expect(response.text).not.to.include(user.token);
      for (const { token_hash } of hashes) expect(response.text).not.to.include(token_hash);
      expect(response.text).not.to.match(/password_hash|token_hash|\$argon2/);
      expectFailure(await request('GET', '/me/export'), 401, 'unauthorized');
    });
  });
});
