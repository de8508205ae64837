import crypto from 'node:crypto';
import { expect } from 'chai';
import { expectFailure, expectInvalidField, expectNoRowChange, sql } from './support/expectations.js';
import { EVENT_SCHEMAS } from '../shared/events/event-schemas.js';
import { testApp, testDatabase } from './support/hooks.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { loginUser, registerUser, request, strongPassword } from './support/http.js';
import { outboxEventsOf, startMailHarness } from './support/mail-harness.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function loginWith(email: string, password: string, userAgent?: string) {
  const response = await request('POST', '/login', { json: { email, password }, headers: userAgent ? { 'user-agent': userAgent } : {} });
  expect(response.status, response.text).to.equal(200);
  return response.body as { token: string; refresh_token: string };
}

const sessionIdOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

async function sessionRows(userId: string) {
  return sql<{ id: string; revoked_at: Date | null }>('SELECT id, revoked_at FROM sessions WHERE user_id = $1 ORDER BY created_at', [userId]);
}

async function liveRefreshTokens(sessionId: string): Promise<number> {
  const rows = await sql<{ n: number }>('SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id = $1 AND revoked_at IS NULL', [sessionId]);
  return rows[0]!.n;
}

async function revokedEvents(userId: string) {
  return (await outboxEventsOf(userId)).filter((event) => event.type === 'SessionRevoked');
}

describe('sessions', function () {
  this.timeout(30_000);

  it('GET /me/sessions lists the live sessions with device, ip, times and the current one marked', async () => {
    const user = await registerUser();
    const first = await loginWith(user.email, user.password, FIREFOX);
    const second = await loginWith(user.email, user.password, 'curl/8.5.0');
    const response = await request('GET', '/me/sessions', { headers: bearer(second.token) });
    expect(response.status, response.text).to.equal(200);
    const sessions = response.body.sessions as Array<Record<string, unknown>>;
    expect(sessions).to.have.length(2);
    const byId = new Map(sessions.map((s) => [s.id, s]));
    const mine = byId.get(sessionIdOf(second.token))!;
    const other = byId.get(sessionIdOf(first.token))!;
    expect(mine).to.include({ current: true, device: 'curl', ip: '127.0.0.1' });
    expect(other).to.include({ current: false, device: 'Firefox on Linux', ip: '127.0.0.1' });
    for (const session of sessions) {
      expect(Object.keys(session).sort()).to.deep.equal(['created_at', 'current', 'device', 'expires_at', 'id', 'ip', 'last_used_at'].sort());
      expect(Date.parse(session.last_used_at as string)).to.be.at.least(Date.parse(session.created_at as string));
    }
    expect(response.text).not.to.include(first.refresh_token);
  });

  it('GET /me/sessions leaves out a session idle past SESSION_IDLE_TIMEOUT_DAYS', async () => {
    const user = await registerUser();
    const idle = await loginWith(user.email, user.password);
    const current = await loginWith(user.email, user.password);
    const { idleTimeoutSeconds } = testApp().services.config.sessions;
    await sql(`UPDATE sessions SET last_used_at = now() - make_interval(secs => $2 + 60) WHERE id = $1`, [sessionIdOf(idle.token), idleTimeoutSeconds]);
    const response = await request('GET', '/me/sessions', { headers: bearer(current.token) });
    expect(response.status, response.text).to.equal(200);
    expect(response.body.sessions.map((s: { id: string }) => s.id)).to.deep.equal([sessionIdOf(current.token)]);
  });

  it('DELETE /me/sessions/:id revokes that session and its refresh tokens at once, with SessionRevoked', async () => {
    const user = await registerUser();
    const first = await loginWith(user.email, user.password);
    const second = await loginWith(user.email, user.password);
    const target = sessionIdOf(first.token);
    expect((await request('GET', '/me', { headers: bearer(first.token) })).status).to.equal(200);

    const response = await request('DELETE', `/me/sessions/${target}`, { headers: bearer(second.token) });
    expect(response.status, response.text).to.equal(204);
    expect(response.text).to.equal('');
    expectFailure(await request('GET', '/me', { headers: bearer(first.token) }), 401, 'unauthorized');
    expect((await request('GET', '/me', { headers: bearer(second.token) })).status).to.equal(200);
    expect(await liveRefreshTokens(target)).to.equal(0);
    expect(await liveRefreshTokens(sessionIdOf(second.token))).to.equal(1);
    const events = await revokedEvents(user.userId);
    expect(events.map((e) => e.data)).to.deep.equal([{ session_id: target, reason: 'user' }]);

    const list = await request('GET', '/me/sessions', { headers: bearer(second.token) });
    expect(list.body.sessions.map((s: { id: string }) => s.id)).to.deep.equal([sessionIdOf(second.token)]);
    // Already ended: 404, and nothing more is written.
    await expectNoRowChange(async () => expectFailure(await request('DELETE', `/me/sessions/${target}`, { headers: bearer(second.token) }), 404, 'not_found'));
  });

  it("another user's session, an unknown id or a non-UUID is 404 not_found and changes nothing", async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const aliceTokens = await loginUser(alice.email, alice.password);
    const bobTokens = await loginUser(bob.email, bob.password);
    const bobSession = sessionIdOf(bobTokens.token);
    const bodies = new Set<string>();
    for (const id of [bobSession, crypto.randomUUID(), 'not-a-uuid', '1', `${bobSession}x`, "' OR 1=1 --", '%00']) {
      const response = await expectNoRowChange(() => request('DELETE', `/me/sessions/${encodeURIComponent(id)}`, { headers: bearer(aliceTokens.token) }));
      expectFailure(response, 404, 'not_found');
      bodies.add(response.text);
    }
    expect(bodies.size).to.equal(1);
    expect((await sessionRows(bob.userId)).every((s) => s.revoked_at === null)).to.equal(true);
    expect((await request('GET', '/me', { headers: bearer(bobTokens.token) })).status).to.equal(200);
  });

  it('POST /logout ends the current session only; its token is refused on /me at once', async () => {
    const user = await registerUser();
    const kept = await loginWith(user.email, user.password);
    const current = await loginWith(user.email, user.password);
    const response = await request('POST', '/logout', { headers: bearer(current.token) });
    expect(response.status, response.text).to.equal(204);
    expectFailure(await request('GET', '/me', { headers: bearer(current.token) }), 401, 'unauthorized');
    expect((await request('GET', '/me', { headers: bearer(kept.token) })).status).to.equal(200);
    expect(await liveRefreshTokens(sessionIdOf(current.token))).to.equal(0);
    expect((await revokedEvents(user.userId)).map((e) => e.data)).to.deep.equal([{ session_id: sessionIdOf(current.token), reason: 'logout' }]);
    // A second logout with the same token: it no longer authenticates.
    expectFailure(await request('POST', '/logout', { headers: bearer(current.token) }), 401, 'unauthorized');
  });

  it('POST /logout/all ends every session of the user and no one else\'s', async () => {
    const user = await registerUser();
    const other = await registerUser();
    const otherTokens = await loginUser(other.email, other.password);
    const tokens = [await loginUser(user.email, user.password), await loginUser(user.email, user.password), await loginUser(user.email, user.password)];
    const response = await request('POST', '/logout/all', { headers: bearer(tokens[0]!.token) });
    expect(response.status, response.text).to.equal(204);
    for (const t of tokens) expectFailure(await request('GET', '/me', { headers: bearer(t.token) }), 401, 'unauthorized');
    expect((await sessionRows(user.userId)).every((s) => s.revoked_at !== null)).to.equal(true);
    const live = await sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1 AND t.revoked_at IS NULL',
      [user.userId],
    );
    expect(live[0]!.n).to.equal(0);
    const events = await revokedEvents(user.userId);
    expect(events.map((e) => e.data.reason)).to.deep.equal(['logout_all', 'logout_all', 'logout_all']);
    expect(new Set(events.map((e) => e.data.session_id))).to.deep.equal(new Set(tokens.map((t) => sessionIdOf(t.token))));
    expect((await request('GET', '/me', { headers: bearer(otherTokens.token) })).status).to.equal(200);
  });

  it('the session routes require a valid Bearer token', async () => {
    for (const [method, path] of [['GET', '/me/sessions'], ['DELETE', `/me/sessions/${crypto.randomUUID()}`], ['POST', '/logout'], ['POST', '/logout/all']] as const) {
      expectFailure(await request(method, path), 401, 'unauthorized');
      expectFailure(await request(method, path, { headers: { authorization: 'Bearer a.b.c' } }), 401, 'unauthorized');
    }
  });

  describe('POST /password/change', () => {
    it('sets the new password, ends the other sessions (not this one) and writes PasswordChanged', async () => {
      const user = await registerUser();
      const other = await loginWith(user.email, user.password);
      const current = await loginWith(user.email, user.password);
      const newPassword = strongPassword();
      const response = await request('POST', '/password/change', {
        json: { current_password: user.password, new_password: newPassword },
        headers: bearer(current.token),
      });
      expect(response.status, response.text).to.equal(200);
      expect(response.body).to.deep.equal({ message: 'success', sessions_revoked: 1 });
      expect((await request('GET', '/me', { headers: bearer(current.token) })).status).to.equal(200);
      expectFailure(await request('GET', '/me', { headers: bearer(other.token) }), 401, 'unauthorized');
      expect(await liveRefreshTokens(sessionIdOf(other.token))).to.equal(0);
      expect(await liveRefreshTokens(sessionIdOf(current.token))).to.equal(1);
      expectFailure(await request('POST', '/login', { json: { email: user.email, password: user.password } }), 401, 'invalid_credentials');
      await loginUser(user.email, newPassword);
      const events = await outboxEventsOf(user.userId);
      expect(events.filter((e) => e.type === 'PasswordChanged').map((e) => e.data)).to.deep.equal([{ reason: 'change', sessions_revoked: 1 }]);
      expect((await revokedEvents(user.userId)).map((e) => e.data)).to.deep.equal([{ session_id: sessionIdOf(other.token), reason: 'password_change' }]);
      expect(JSON.stringify(events)).not.to.include(newPassword);
    });

    it("mails the owner that every other session was signed out, in the profile's language", async () => {
      const mail = await startMailHarness();
      try {
        for (const [locale, text] of [['en', 'every other session was signed out'], ['de', 'alle anderen Sitzungen wurden abgemeldet']] as const) {
          const user = await registerUser();
          await request('PATCH', '/me/profile', { json: { locale }, headers: bearer((await loginUser(user.email, user.password)).token) });
          const tokens = await loginUser(user.email, user.password);
          const response = await request('POST', '/password/change', {
            json: { current_password: user.password, new_password: strongPassword() },
            headers: bearer(tokens.token),
          });
          expect(response.status, response.text).to.equal(200);
          const mails = await mail.sink.waitForMails(user.email, 2);
          const notice = mails.find((m) => /password was changed|Passwort wurde geändert/.test(m.parsed.subject ?? ''));
          expect(notice?.parsed.text, mails.map((m) => m.parsed.subject).join(', ')).to.include(text);
        }
      } finally {
        await mail.stop();
      }
    });

    it('a wrong current password is 401 invalid_credentials and changes nothing', async () => {
      const user = await registerUser();
      const tokens = await loginUser(user.email, user.password);
      const [before] = await sql('SELECT password_hash FROM users WHERE id = $1', [user.userId]);
      const response = await expectNoRowChange(() =>
        request('POST', '/password/change', { json: { current_password: `${user.password}x`, new_password: strongPassword() }, headers: bearer(tokens.token) }),
      );
      expectFailure(response, 401, 'invalid_credentials');
      const [after] = await sql('SELECT password_hash FROM users WHERE id = $1', [user.userId]);
      expect(after.password_hash).to.equal(before.password_hash);
      expect((await request('GET', '/me', { headers: bearer(tokens.token) })).status).to.equal(200);
    });

    it('the password policy applies to the new password (400 naming new_password)', async () => {
      const user = await registerUser();
      const tokens = await loginUser(user.email, user.password);
      for (const weak of ['short', 'password1234', user.email, 'x'.repeat(257)]) {
        const response = await expectNoRowChange(() =>
          request('POST', '/password/change', { json: { current_password: user.password, new_password: weak }, headers: bearer(tokens.token) }),
        );
        expectInvalidField(response, 'new_password');
      }
    });

    it('ugly bodies are 400 and change nothing', async () => {
      const user = await registerUser();
      const tokens = await loginUser(user.email, user.password);
      const bodies: unknown[] = [
        {},
        { current_password: user.password },
        { current_password: [user.password], new_password: strongPassword() },
        { current_password: user.password, new_password: { x: 1 } },
        { current_password: null, new_password: strongPassword() },
        { current_password: 12, new_password: 13 },
        [],
        'text',
        { current_password: 'x'.repeat(5000), new_password: strongPassword() },
      ];
      for (const json of bodies) {
        const response = await expectNoRowChange(() => request('POST', '/password/change', { json, headers: bearer(tokens.token) }));
        expectFailure(response, 400, 'invalid_request');
      }
      const proto = await request('POST', '/password/change', {
        raw: `{"current_password":"${user.password}","new_password":"${strongPassword()}","__proto__":{"admin":true}}`,
        headers: { ...bearer(tokens.token), 'content-type': 'application/json' },
      });
      expectFailure(proto, 400, 'invalid_json');
    });
  });

  describe('SESSION_MAX_PER_USER', () => {
    let capped: TestApp;
    before(async () => {
      capped = await startTestApp(testDatabase(), { SESSION_MAX_PER_USER: '3' });
    });
    after(() => capped.close());
    const loginAt = async (email: string, password: string) => {
      const response = await request('POST', '/login', { json: { email, password }, baseUrl: capped.url });
      expect(response.status, response.text).to.equal(200);
      return response.body as { token: string; refresh_token: string };
    };

    it('defaults to 50', () => {
      expect(testApp().services.config.sessions.maxPerUser).to.equal(50);
    });

    it('a sign-in past the cap revokes the least recently used sessions with their refresh tokens and a SessionRevoked session_limit each', async () => {
      const user = await registerUser();
      const signIns = [];
      for (let i = 0; i < 5; i++) signIns.push(await loginAt(user.email, user.password));
      const rows = await sessionRows(user.userId);
      expect(rows.filter((row) => row.revoked_at === null).map((row) => row.id)).to.deep.equal(signIns.slice(2).map((signIn) => sessionIdOf(signIn.token)));
      const revokedIds = signIns.slice(0, 2).map((signIn) => sessionIdOf(signIn.token));
      for (const id of revokedIds) expect(await liveRefreshTokens(id)).to.equal(0);
      const events = await revokedEvents(user.userId);
      expect(events.map((event) => [event.data.session_id, event.data.reason])).to.deep.equal(revokedIds.map((id) => [id, 'session_limit']));
      for (const event of events) expect(EVENT_SCHEMAS.SessionRevoked.safeParse(event).success, JSON.stringify(event)).to.equal(true);
      expect(new Set(events.map((event) => event.event_id)).size).to.equal(2);
      // The revoked sessions' tokens no longer work; the kept ones do.
      expectFailure(await request('GET', '/me', { headers: bearer(signIns[0]!.token), baseUrl: capped.url }), 401, 'unauthorized');
      expectFailure(await request('POST', '/token/refresh', { json: { refresh_token: signIns[1]!.refresh_token }, baseUrl: capped.url }), 401, 'invalid_token');
      expect((await request('GET', '/me', { headers: bearer(signIns[4]!.token), baseUrl: capped.url })).status).to.equal(200);
    });

    it('keeps a recently refreshed session over an older unused one', async () => {
      const user = await registerUser();
      const first = await loginAt(user.email, user.password);
      const second = await loginAt(user.email, user.password);
      await loginAt(user.email, user.password);
      const refreshed = await request('POST', '/token/refresh', { json: { refresh_token: first.refresh_token }, baseUrl: capped.url });
      expect(refreshed.status, refreshed.text).to.equal(200);
      await loginAt(user.email, user.password);
      const live = (await sessionRows(user.userId)).filter((row) => row.revoked_at === null).map((row) => row.id);
      expect(live).to.have.length(3).and.include(sessionIdOf(first.token)).and.not.include(sessionIdOf(second.token));
    });
  });
});
