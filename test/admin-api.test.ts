import crypto from 'node:crypto';
import { expect } from 'chai';
import { expectFailure, expectInvalidField, sql } from './support/expectations.js';
import { signedInAdmin, signedInUser } from './support/admin.js';
import { randomEmail, registerUser, request } from './support/http.js';

type Operation = { 'x-required-role'?: string };

/** Every (method, path) the document marks as needing a role, with its path parameters filled in. */
async function roleOperations(): Promise<Array<{ method: string; path: string; role: string }>> {
  const doc = (await request<{ paths: Record<string, Record<string, Operation>> }>('GET', '/openapi.json')).body;
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([, op]) => op['x-required-role'] !== undefined)
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path: path.replace('{role}', 'admin').replace(/\{\w+\}/g, () => crypto.randomUUID()),
        role: op['x-required-role']!,
      })),
  );
}

describe('admin API', function () {
  this.timeout(60_000);

  it('refuses every role:admin route without a token (401) and to a user without the role (403)', async () => {
    const operations = await roleOperations();
    expect(operations.length).to.be.at.least(13);
    const user = await signedInUser();
    for (const { method, path, role } of operations) {
      expect(role, `${method} ${path}`).to.equal('admin');
      const body = method === 'GET' ? {} : { json: {} };
      expectFailure(await request(method, path, body), 401, 'unauthorized');
      expectFailure(await request(method, path, { ...body, headers: user.auth }), 403, 'forbidden');
    }
  });

  it('a revoked admin role stops working at the next request, with the same token', async () => {
    const admin = await signedInAdmin();
    expect((await request('GET', '/admin/users?limit=1', { headers: admin.auth })).status).to.equal(200);
    await sql("DELETE FROM user_roles WHERE user_id = $1", [admin.userId]);
    expectFailure(await request('GET', '/admin/users?limit=1', { headers: admin.auth }), 403, 'forbidden');
  });

  describe('GET /admin/users', () => {
    it('pages through every matching user exactly once, newest first, while users are being registered', async () => {
      const admin = await signedInAdmin();
      const tag = `page${crypto.randomBytes(3).toString('hex')}`;
      const email = (i: number) => `${tag}-${i}@example.com`;
      for (let i = 0; i < 7; i += 1) await registerUser(email(i));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query = new URLSearchParams({ q: tag, limit: '3', ...(cursor ? { cursor } : {}) });
        const page = await request('GET', `/admin/users?${query}`, { headers: admin.auth });
        expect(page.status).to.equal(200);
        seen.push(...page.body.users.map((user: { email: string }) => user.email));
        cursor = page.body.next_cursor;
        pages += 1;
        // Newer registrations land before the cursor: they must not shift the pages.
        await registerUser(`${tag}-late${pages}@example.com`);
      } while (cursor);
      expect(pages).to.equal(3);
      expect(seen).to.deep.equal([6, 5, 4, 3, 2, 1, 0].map(email));
    });

    it('filters by status, verification and creation time', async () => {
      const admin = await signedInAdmin();
      const { userId } = await registerUser();
      await sql("UPDATE users SET status = 'disabled', email_verified = true WHERE id = $1", [userId]);
      const [{ created_at }] = await sql('SELECT created_at FROM users WHERE id = $1', [userId]);
      const from = new Date(created_at.getTime() - 1).toISOString();
      const to = new Date(created_at.getTime() + 1).toISOString();
      const found = await request('GET', `/admin/users?status=disabled&verified=true&created_from=${from}&created_to=${to}`, { headers: admin.auth });
      expect(found.body.users.map((user: { id: string }) => user.id)).to.include(userId);
      const none = await request('GET', `/admin/users?status=disabled&verified=false&created_from=${from}&created_to=${to}`, { headers: admin.auth });
      expect(none.body.users.map((user: { id: string }) => user.id)).not.to.include(userId);
    });

    it('refuses a cursor it did not give out and bad filters with 400 naming the parameter', async () => {
      const admin = await signedInAdmin();
      const forged = Buffer.from(JSON.stringify(["2026-01-01 00:00:00+00'; DROP TABLE users; --", crypto.randomUUID()])).toString('base64url');
      for (const [query, field] of [
        ['cursor=not-a-cursor', 'cursor'],
        [`cursor=${forged}`, 'cursor'],
        ['limit=0', 'limit'],
        ['limit=101', 'limit'],
        ['limit=ten', 'limit'],
        ['status=banned', 'status'],
        ['verified=yes', 'verified'],
        ['created_from=yesterday', 'created_from'],
        ['q=', 'q'],
        ['limit=1&limit=2', 'limit'],
      ] as Array<[string, string]>) {
        expectInvalidField(await request('GET', `/admin/users?${query}`, { headers: admin.auth }), field);
      }
    });

    it('matches an address prefix literally, LIKE characters included', async () => {
      const admin = await signedInAdmin();
      await registerUser(`pct${crypto.randomBytes(3).toString('hex')}@example.com`);
      const wildcard = await request('GET', `/admin/users?q=${encodeURIComponent('%')}`, { headers: admin.auth });
      expect(wildcard.status).to.equal(200);
      expect(wildcard.body.users).to.deep.equal([]);
    });
  });

  describe('GET /admin/audit', () => {
    it('pages through entries of one instant in id order, each once, across ids of more digits', async () => {
      const admin = await signedInAdmin();
      const user = crypto.randomUUID();
      // One statement: every row has the same created_at, so the id alone orders them; eleven of them cross a power of ten (9 -> 10 digits' worth).
      const inserted = await sql<{ id: string }>(
        `INSERT INTO audit_logs (user_id, action, created_at) SELECT $1, 'test.tie', now() FROM generate_series(1, 11) RETURNING id::text`,
        [user],
      );
      await sql(`SELECT setval('audit_logs_id_seq', greatest((SELECT max(id) FROM audit_logs), 999999995))`);
      const more = await sql<{ id: string }>(
        `INSERT INTO audit_logs (user_id, action, created_at) SELECT $1, 'test.tie', (SELECT created_at FROM audit_logs WHERE id = $2) FROM generate_series(1, 11) RETURNING id::text`,
        [user, inserted[0]!.id],
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const query = new URLSearchParams({ user_id: user, limit: '4', ...(cursor ? { cursor } : {}) });
        const answer = await request('GET', `/admin/audit?${query}`, { headers: admin.auth });
        expect(answer.status, answer.text).to.equal(200);
        seen.push(...answer.body.entries.map((entry: { id: string }) => entry.id));
        cursor = answer.body.next_cursor ?? undefined;
        if (!cursor) break;
      }
      const expected = [...inserted, ...more].map((row) => BigInt(row.id)).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)).map(String);
      expect(seen).to.deep.equal(expected);
    });
  });

  describe('GET /admin/users/:id', () => {
    it('shows the account with profile, roles, live sessions, second factors and scored attempts; 404 for unknown or malformed ids', async () => {
      const admin = await signedInAdmin();
      const user = await signedInUser();
      await request('POST', '/login', { json: { email: user.email, password: 'wrong password here' } });
      const detail = await request('GET', `/admin/users/${user.userId}`, { headers: admin.auth });
      expect(detail.status).to.equal(200);
      expect(detail.body).to.include({ id: user.userId, email: user.email, status: 'active' });
      expect(detail.body.roles).to.deep.equal([]);
      expect(detail.body.sessions).to.have.length(1);
      expect(detail.body.mfa).to.deep.equal([]);
      expect(detail.body.login_attempts.map((attempt: { success: boolean }) => attempt.success)).to.deep.equal([false, true]);
      expect(detail.text).not.to.contain('password_hash').and.not.contain('$argon2');
      expectFailure(await request('GET', `/admin/users/${crypto.randomUUID()}`, { headers: admin.auth }), 404, 'not_found');
      expectFailure(await request('GET', '/admin/users/not-a-uuid', { headers: admin.auth }), 404, 'not_found');
    });
  });

  describe('actions', () => {
    it('locking a user ends their live token at once; reactivating does not bring the session back', async () => {
      const admin = await signedInAdmin();
      const user = await signedInUser();
      expect((await request('GET', '/me', { headers: user.auth })).status).to.equal(200);
      const locked = await request('POST', `/admin/users/${user.userId}/status`, { json: { status: 'locked', reason: 'fraud' }, headers: admin.auth });
      expect(locked.status).to.equal(200);
      expect(locked.body).to.include({ id: user.userId, status: 'locked', sessions_revoked: 1 });
      expectFailure(await request('GET', '/me', { headers: user.auth }), 401, 'unauthorized');
      expectFailure(await request('POST', '/login', { json: { email: user.email, password: user.password } }), 403, 'account_locked');
      const active = await request('POST', `/admin/users/${user.userId}/status`, { json: { status: 'active' }, headers: admin.auth });
      expect(active.body).to.include({ status: 'active', sessions_revoked: 0 });
      expectFailure(await request('GET', '/me', { headers: user.auth }), 401, 'unauthorized');
      expect((await request('POST', '/login', { json: { email: user.email, password: user.password } })).status).to.equal(200);
    });

    it('refuses an unknown status, a free-text reason and stray keys with 400; an unknown user with 404', async () => {
      const admin = await signedInAdmin();
      const { userId } = await registerUser();
      const post = (json: unknown, id = userId) => request('POST', `/admin/users/${id}/status`, { json, headers: admin.auth });
      expectInvalidField(await post({ status: 'banned' }), 'status');
      expectInvalidField(await post({ status: 'deleted' }), 'status');
      expectInvalidField(await post({ status: 'locked', reason: 'He sent me an email: bob@example.com' }), 'reason');
      expectInvalidField(await post({ status: 'locked', note: 'x' }), 'note');
      expectFailure(await post({ status: 'locked' }, crypto.randomUUID()), 404, 'not_found');
      const [row] = await sql('SELECT status FROM users WHERE id = $1', [userId]);
      expect(row.status).to.equal('active');
    });

    it('grants and revokes roles idempotently; an admin cannot remove their own admin role', async () => {
      const admin = await signedInAdmin();
      const { userId } = await registerUser();
      const put = await request('PUT', `/admin/users/${userId}/roles/support`, { headers: admin.auth });
      expect(put.body).to.deep.equal({ roles: ['support'] });
      expect((await request('PUT', `/admin/users/${userId}/roles/support`, { headers: admin.auth })).body).to.deep.equal({ roles: ['support'] });
      expect((await request('DELETE', `/admin/users/${userId}/roles/support`, { headers: admin.auth })).body).to.deep.equal({ roles: [] });
      expectFailure(await request('DELETE', `/admin/users/${admin.userId}/roles/admin`, { headers: admin.auth }), 409, 'conflict');
      expectFailure(await request('PUT', `/admin/users/${userId}/roles/Not%20A%20Role`, { headers: admin.auth }), 404, 'not_found');
      const events = await sql("SELECT type FROM outbox WHERE aggregate_id = $1 AND type LIKE 'Role%' ORDER BY id", [userId]);
      expect(events.map((event: { type: string }) => event.type)).to.deep.equal(['RoleGranted', 'RoleRevoked']);
    });

    it('deletes an account as DELETE /me does, and clears second factors', async () => {
      const admin = await signedInAdmin();
      const user = await signedInUser();
      await sql("INSERT INTO mfa_methods (user_id, type, label, secret) VALUES ($1, 'totp', 'phone', 'x')", [user.userId]);
      const cleared = await request('DELETE', `/admin/users/${user.userId}/mfa`, { headers: admin.auth });
      expect(cleared.body).to.deep.equal({ methods_removed: 1 });
      expect((await request('GET', '/me', { headers: user.auth })).body.mfa).to.deep.equal({ enabled: false, methods: [] });
      expect((await request('DELETE', `/admin/users/${user.userId}`, { headers: admin.auth })).status).to.equal(204);
      expectFailure(await request('GET', '/me', { headers: user.auth }), 401, 'unauthorized');
      const [row] = await sql('SELECT status FROM users WHERE id = $1', [user.userId]);
      expect(row.status).to.equal('deleted');
      expect((await request('POST', '/register', { json: { email: user.email, password: user.password } })).status).to.equal(201);
      expectFailure(await request('DELETE', `/admin/users/${user.userId}`, { headers: admin.auth }), 404, 'not_found');
    });

    it('revokes every session of a user with reason admin and the admin as actor', async () => {
      const admin = await signedInAdmin();
      const user = await signedInUser();
      const revoked = await request('POST', `/admin/users/${user.userId}/sessions/revoke`, { headers: admin.auth });
      expect(revoked.body).to.deep.equal({ sessions_revoked: 1 });
      expectFailure(await request('GET', '/me', { headers: user.auth }), 401, 'unauthorized');
      const [event] = await sql("SELECT payload->'data' AS data FROM outbox WHERE aggregate_id = $1 AND type = 'SessionRevoked'", [user.userId]);
      expect(event.data).to.include({ reason: 'admin', actor_id: admin.userId });
    });
  });

  describe('operations', () => {
    it('lists set-aside events and replays one; 404 for an unknown event', async () => {
      const admin = await signedInAdmin();
      const { userId } = await registerUser(randomEmail());
      const eventId = crypto.randomUUID();
      await sql(
        `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, failed_at, attempts, last_error, published_at)
         VALUES ($1, $2, 'user.events', 'EmailVerified', $3, now(), 10, 'NOT_FOUND - no exchange', NULL)`,
        [eventId, userId, JSON.stringify({ event_id: eventId, type: 'EmailVerified', occurred_at: new Date().toISOString(), user_id: userId, data: {} })],
      );
      const failed = await request('GET', '/admin/outbox/failed', { headers: admin.auth });
      expect(failed.body.events.find((event: { event_id: string }) => event.event_id === eventId)).to.include({ type: 'EmailVerified', attempts: 10, last_error: 'NOT_FOUND - no exchange' });
      const replayed = await request('POST', `/admin/outbox/${eventId}/replay`, { headers: admin.auth });
      expect(replayed.body).to.deep.equal({ event_id: eventId, type: 'EmailVerified', replayed: 'publish', reactions: [] });
      const [row] = await sql('SELECT failed_at, attempts FROM outbox WHERE event_id = $1', [eventId]);
      expect(row).to.deep.equal({ failed_at: null, attempts: 0 });
      expectFailure(await request('POST', `/admin/outbox/${crypto.randomUUID()}/replay`, { headers: admin.auth }), 404, 'not_found');
    });

    it('lists given-up reactions and runs them again', async () => {
      const admin = await signedInAdmin();
      const { userId } = await registerUser();
      const [{ event_id: eventId }] = await sql("SELECT event_id FROM outbox WHERE aggregate_id = $1 AND type = 'UserRegistered'", [userId]);
      await sql('UPDATE outbox SET published_at = now() WHERE event_id = $1', [eventId]);
      await sql(
        `INSERT INTO reactions (event_id, job_name, payload, completed_at, given_up_at, last_error) VALUES ($1, 'send-verification-mail', '{}', now(), now(), 'refused')
         ON CONFLICT (event_id, job_name) DO UPDATE SET completed_at = now(), given_up_at = now(), last_error = 'refused'`,
        [eventId],
      );
      const listed = await request('GET', '/admin/reactions/given-up', { headers: admin.auth });
      expect(listed.body.reactions.find((reaction: { event_id: string }) => reaction.event_id === eventId)).to.include({ job_name: 'send-verification-mail', last_error: 'refused' });
      const replayed = await request('POST', `/admin/reactions/${eventId}/replay`, { headers: admin.auth });
      expect(replayed.body).to.deep.equal({ event_id: eventId, type: 'UserRegistered', replayed: 'reactions', reactions: ['send-verification-mail'] });
      const [row] = await sql("SELECT given_up_at, completed_at FROM reactions WHERE event_id = $1 AND job_name = 'send-verification-mail'", [eventId]);
      expect(row).to.deep.equal({ given_up_at: null, completed_at: null });
    });
  });
});
