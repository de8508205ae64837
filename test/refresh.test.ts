import { expect } from 'chai';
import type { DomainEvent } from '../shared/events/event-schemas.js';
import { expectFailure, sql } from './support/expectations.js';
import { testApp, testDatabase } from './support/hooks.js';
import { loginUser, registerUser, request, type JsonResponse } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

interface Tokens {
  token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

/** A request to one of this suite's apps (the shared one has no raised rate limits). */
function call(app: TestApp, method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<JsonResponse> {
  return request(method, path, { raw: init.body, headers: init.headers, baseUrl: app.url });
}

function refreshRaw(app: TestApp, json: unknown): Promise<JsonResponse> {
  return call(app, 'POST', '/token/refresh', { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } });
}

function sessionIdOf(accessToken: string): string {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')).sid;
}

function expectTokens(response: JsonResponse<Tokens>, app: TestApp): Tokens {
  expect(response.status, response.text).to.equal(200);
  expect(Object.keys(response.body).sort()).to.deep.equal(['expires_in', 'refresh_token', 'token', 'token_type']);
  expect(response.body.token_type).to.equal('Bearer');
  expect(response.body.expires_in).to.equal(app.services.config.tokens.accessTtlSeconds);
  expect(response.body.refresh_token).to.match(/^[\w-]{43}$/);
  expect(response.headers.get('cache-control')).to.equal('no-store');
  return response.body;
}

async function signIn(): Promise<{ userId: string; sessionId: string; first: Tokens }> {
  const { email, password, userId } = await registerUser();
  const first = await loginUser(email, password);
  return { userId, sessionId: sessionIdOf(first.token), first };
}

async function tokenRows(sessionId: string) {
  return sql<{ id: string; parent_id: string | null; token_hash: string; consumed: boolean; revoked: boolean; expires_at: Date }>(
    `SELECT id, parent_id, token_hash, consumed_at IS NOT NULL AS consumed, revoked_at IS NOT NULL AS revoked, expires_at
       FROM refresh_tokens WHERE session_id = $1 ORDER BY issued_at, id`,
    [sessionId],
  );
}

async function sessionRow(sessionId: string) {
  const [row] = await sql('SELECT revoked_at, expires_at, last_used_at, created_at FROM sessions WHERE id = $1', [sessionId]);
  return row;
}

async function revocationEvents(userId: string) {
  return sql<{ payload: DomainEvent<'SessionRevoked'> }>("SELECT payload FROM outbox WHERE aggregate_id = $1 AND type = 'SessionRevoked' ORDER BY id", [userId]);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('POST /token/refresh', () => {
  let app: TestApp;
  /** Same database, a grace of one second, so reuse after the grace can be tested quickly. */
  let shortGrace: TestApp;
  let unknownTokenBody: string;

  before(async () => {
    // Rate limits raised: these tests refresh far more often from one address than a client would.
    app = await startTestApp(testDatabase(), { RATE_LIMIT_SCALE: '1000' });
    shortGrace = await startTestApp(testDatabase(), { RATE_LIMIT_SCALE: '1000', REFRESH_REUSE_GRACE_SECONDS: '1' });
    const unknown = await refreshRaw(app, { refresh_token: 'A'.repeat(43) });
    expectFailure(unknown, 401, 'invalid_token');
    unknownTokenBody = unknown.text;
  });

  after(async () => {
    await app?.close();
    await shortGrace?.close();
  });

  /** A refresh refused with the one invalid_token body every refusal shares. */
  function expectRefused(response: JsonResponse): void {
    expectFailure(response, 401, 'invalid_token');
    expect(response.text).to.equal(unknownTokenBody);
  }

  it('rotates on every use: a new access token for the same session and a successor chained to its parent', async () => {
    const { userId, sessionId, first } = await signIn();
    const before = await sessionRow(sessionId);
    const second = expectTokens(await refreshRaw(app, { refresh_token: first.refresh_token }), app);
    expect(second.refresh_token).not.to.equal(first.refresh_token);
    expect(sessionIdOf(second.token)).to.equal(sessionId);
    const me = await call(app, 'GET', '/me', { headers: { authorization: `Bearer ${second.token}` } });
    expect(me.status, me.text).to.equal(200);
    expect(me.body.id).to.equal(userId);

    const third = expectTokens(await refreshRaw(app, { refresh_token: second.refresh_token }), app);
    expect(new Set([first.refresh_token, second.refresh_token, third.refresh_token]).size).to.equal(3);

    const rows = await tokenRows(sessionId);
    expect(rows.map((row) => [row.consumed, row.revoked])).to.deep.equal([[true, false], [true, false], [false, false]]);
    expect(rows[0]!.parent_id).to.equal(null);
    expect(rows[1]!.parent_id).to.equal(rows[0]!.id);
    expect(rows[2]!.parent_id).to.equal(rows[1]!.id);
    // Only hashes are stored.
    const stored = JSON.stringify(await sql('SELECT * FROM refresh_tokens WHERE session_id = $1', [sessionId]));
    for (const token of [first, second, third]) expect(stored).not.to.include(token.refresh_token);

    const after = await sessionRow(sessionId);
    expect(after.revoked_at).to.equal(null);
    expect(after.expires_at.getTime(), 'the absolute lifetime does not move').to.equal(before.expires_at.getTime());
    expect(after.last_used_at.getTime()).to.be.above(before.last_used_at.getTime());
    expect(await revocationEvents(userId)).to.have.length(0);
  });

  it('within the grace, gives a retry with the consumed token the same successor and keeps the session', async () => {
    const { userId, sessionId, first } = await signIn();
    const second = expectTokens(await refreshRaw(app, { refresh_token: first.refresh_token }), app);
    const retry = expectTokens(await refreshRaw(app, { refresh_token: first.refresh_token }), app);
    expect(retry.refresh_token).to.equal(second.refresh_token);
    expect(sessionIdOf(retry.token)).to.equal(sessionId);
    expect(await tokenRows(sessionId)).to.have.length(2);

    expectTokens(await refreshRaw(app, { refresh_token: second.refresh_token }), app);
    expect((await sessionRow(sessionId)).revoked_at).to.equal(null);
    expect(await revocationEvents(userId)).to.have.length(0);
  });

  it('after the grace, takes a consumed token for a stolen copy: the session, its tokens and its access token are revoked, SessionRevoked is written', async () => {
    const { userId, sessionId, first } = await signIn();
    const second = expectTokens(await refreshRaw(shortGrace, { refresh_token: first.refresh_token }), shortGrace);
    await pause(1_300);

    expectRefused(await refreshRaw(shortGrace, { refresh_token: first.refresh_token }));
    const me = await call(app, 'GET', '/me', { headers: { authorization: `Bearer ${second.token}` } });
    expectFailure(me, 401, 'unauthorized');
    expectRefused(await refreshRaw(shortGrace, { refresh_token: second.refresh_token }));

    expect((await sessionRow(sessionId)).revoked_at).to.be.an.instanceOf(Date);
    expect((await tokenRows(sessionId)).map((row) => row.revoked)).to.deep.equal([true, true]);
    const events = await revocationEvents(userId);
    expect(events).to.have.length(1);
    const event = events[0]!.payload;
    expect(event).to.include({ type: 'SessionRevoked', user_id: userId });
    expect(event.data).to.deep.equal({ session_id: sessionId, reason: 'refresh_token_reuse' });
    expect(JSON.stringify(event)).not.to.include(first.refresh_token);
  });

  it('revokes the session when a token whose successor was already used comes back, even within the grace', async () => {
    const { userId, sessionId, first } = await signIn();
    const second = expectTokens(await refreshRaw(app, { refresh_token: first.refresh_token }), app);
    const third = expectTokens(await refreshRaw(app, { refresh_token: second.refresh_token }), app);
    expectRefused(await refreshRaw(app, { refresh_token: first.refresh_token }));
    expectRefused(await refreshRaw(app, { refresh_token: third.refresh_token }));
    expect((await sessionRow(sessionId)).revoked_at).to.be.an.instanceOf(Date);
    expect((await revocationEvents(userId)).map((row) => row.payload.data.reason)).to.deep.equal(['refresh_token_reuse']);
  });

  it('answers 20 concurrent refreshes with one token alike: all 200, one successor, one chain, session kept', async () => {
    const { userId, sessionId, first } = await signIn();
    const answers = await Promise.all(Array.from({ length: 20 }, () => refreshRaw(app, { refresh_token: first.refresh_token })));
    const successors = answers.map((answer) => expectTokens(answer, app).refresh_token);
    expect(new Set(successors).size, 'one successor for all').to.equal(1);
    for (const answer of answers) expect(sessionIdOf(answer.body.token)).to.equal(sessionId);

    const rows = await tokenRows(sessionId);
    expect(rows, 'one family: the parent and its only successor').to.have.length(2);
    expect(rows.filter((row) => !row.consumed && !row.revoked)).to.have.length(1);
    expect(rows[1]!.parent_id).to.equal(rows[0]!.id);
    expect((await sessionRow(sessionId)).revoked_at).to.equal(null);
    expect(await revocationEvents(userId)).to.have.length(0);

    // The chain goes on from that successor.
    const next = expectTokens(await refreshRaw(app, { refresh_token: successors[0] }), app);
    expect(next.refresh_token).not.to.equal(successors[0]);
  });

  it('lets refreshes race a sign-out of every session without a 500, and no chain outlives the sign-out', async () => {
    const { email, password } = await registerUser();
    const chains = await Promise.all(Array.from({ length: 3 }, () => loginUser(email, password)));
    const sessionIds = chains.map((tokens) => sessionIdOf(tokens.token));
    const latest = chains.map((tokens) => tokens.refresh_token);
    const statuses: number[] = [];
    const refreshing = chains.map(async (_, i) => {
      for (let round = 0; round < 8; round++) {
        const answer = await refreshRaw(app, { refresh_token: latest[i] });
        statuses.push(answer.status);
        if (answer.status !== 200) return;
        latest[i] = answer.body.refresh_token;
      }
    });
    await pause(5);
    const signOut = await call(app, 'POST', '/logout/all', { headers: { authorization: `Bearer ${chains[0]!.token}` } });
    await Promise.all(refreshing);
    expect(signOut.status, signOut.text).to.equal(204);
    expect(statuses.filter((status) => status !== 200 && status !== 401), statuses.join(',')).to.deep.equal([]);
    for (const sessionId of sessionIds) expect((await sessionRow(sessionId)).revoked_at).to.be.an.instanceOf(Date);
    for (const token of latest) expectRefused(await refreshRaw(app, { refresh_token: token }));
  });

  it('refuses a session past its absolute lifetime, and never lets a successor outlive its session', async () => {
    const { sessionId, first } = await signIn();
    await sql("UPDATE sessions SET expires_at = now() + interval '1 hour' WHERE id = $1", [sessionId]);
    const second = expectTokens(await refreshRaw(app, { refresh_token: first.refresh_token }), app);
    const { expires_at: sessionEnd } = await sessionRow(sessionId);
    expect((await tokenRows(sessionId))[1]!.expires_at.getTime()).to.equal(sessionEnd.getTime());

    await sql("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [sessionId]);
    expectRefused(await refreshRaw(app, { refresh_token: second.refresh_token }));
    expect((await tokenRows(sessionId))[1]!.consumed, 'nothing consumed').to.equal(false);
  });

  it('issues successors that expire after the idle timeout unused, and refuses a session idle longer than that', async () => {
    const { sessionId, first } = await signIn();
    const idleDays = app.services.config.sessions.idleTimeoutSeconds / 86_400;
    const second = expectTokens(await refreshRaw(app, { refresh_token: first.refresh_token }), app);
    const successorExpiry = (await tokenRows(sessionId))[1]!.expires_at.getTime();
    expect(Math.abs(successorExpiry - (Date.now() + idleDays * 86_400_000))).to.be.below(60_000);

    // Used a day short of the timeout: still live, and the refresh marks it used now.
    await sql('UPDATE sessions SET last_used_at = now() - make_interval(days => $2) WHERE id = $1', [sessionId, idleDays - 1]);
    const third = expectTokens(await refreshRaw(app, { refresh_token: second.refresh_token }), app);
    expect(Date.now() - (await sessionRow(sessionId)).last_used_at.getTime()).to.be.below(60_000);

    await sql("UPDATE sessions SET last_used_at = now() - make_interval(days => $2) - interval '1 minute' WHERE id = $1", [sessionId, idleDays]);
    expectRefused(await refreshRaw(app, { refresh_token: third.refresh_token }));
  });

  it('refuses an expired refresh token of a live session, without revoking the session', async () => {
    const { userId, sessionId, first } = await signIn();
    await sql("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1", [sessionId]);
    const usedBefore = (await sessionRow(sessionId)).last_used_at.getTime();
    expectRefused(await refreshRaw(app, { refresh_token: first.refresh_token }));
    expect((await tokenRows(sessionId)).map((row) => row.consumed)).to.deep.equal([false]);
    expect((await sessionRow(sessionId)).last_used_at.getTime(), 'a refusal does not mark the session used').to.equal(usedBefore);
    expect((await sessionRow(sessionId)).revoked_at).to.equal(null);
    expect(await revocationEvents(userId)).to.have.length(0);
  });

  it('refuses a token of a revoked session, without revoking anything else or writing an event', async () => {
    const { userId, sessionId, first } = await signIn();
    await sql('UPDATE sessions SET revoked_at = now() WHERE id = $1', [sessionId]);
    expectRefused(await refreshRaw(app, { refresh_token: first.refresh_token }));
    expect((await tokenRows(sessionId)).map((row) => row.consumed)).to.deep.equal([false]);
    expect(await revocationEvents(userId)).to.have.length(0);
  });

  for (const status of ['disabled', 'locked', 'deleted'] as const) {
    it(`refuses a ${status} user's refresh token`, async () => {
      const { userId, sessionId, first } = await signIn();
      await sql('UPDATE users SET status = $2 WHERE id = $1', [userId, status]);
      expectRefused(await refreshRaw(app, { refresh_token: first.refresh_token }));
      expect((await tokenRows(sessionId)).map((row) => row.consumed)).to.deep.equal([false]);
    });
  }

  describe('ugly input', () => {
    const invalidRequest: Array<[string, unknown]> = [
      ['a missing token', {}],
      ['a number', { refresh_token: 12345 }],
      ['an array', { refresh_token: ['a', 'b'] }],
      ['an object', { refresh_token: { token: 'x' } }],
      ['null', { refresh_token: null }],
      ['an empty string', { refresh_token: '' }],
      ['10 000 characters', { refresh_token: 'a'.repeat(10_000) }],
      ['a body that is an array', [{ refresh_token: 'x' }]],
      ['a body that is a string', 'refresh_token'],
    ];
    for (const [name, body] of invalidRequest) {
      it(`answers 400 invalid_request to ${name}`, async () => {
        const response = await refreshRaw(app, body);
        expectFailure(response, 400, 'invalid_request');
        expect(response.body.error.fields).to.satisfy((fields: object) => 'refresh_token' in fields || 'body' in fields);
      });
    }

    const invalidToken: Array<[string, string]> = [
      ['garbage', 'garbage'],
      ['a token with characters no token has', `${'A'.repeat(42)}=`],
      ['a token one character short', 'A'.repeat(42)],
      ['spaces around a real-looking token', ` ${'B'.repeat(43)} `],
      ['an SQL fragment', "' OR 1=1 --"],
      ['unicode', '🔑'.repeat(20)],
      ['an unknown token of the right shape', 'x'.repeat(43)],
    ];
    for (const [name, token] of invalidToken) {
      it(`answers the one 401 invalid_token body to ${name}`, async () => {
        expectRefused(await refreshRaw(app, { refresh_token: token }));
      });
    }

    it('answers no body with 400, malformed JSON with 400 invalid_json and a form with 415', async () => {
      expectFailure(await call(app, 'POST', '/token/refresh'), 400, 'invalid_request');
      expectFailure(await call(app, 'POST', '/token/refresh', { body: '{"refresh_token":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
      expectFailure(
        await call(app, 'POST', '/token/refresh', { body: 'refresh_token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        415,
        'unsupported_media_type',
      );
    });

    it('does not take an access token for a refresh token', async () => {
      const { first } = await signIn();
      expectRefused(await refreshRaw(app, { refresh_token: first.token }));
    });
  });
});

describe('session lifetime settings', () => {
  it('refuse an idle timeout longer than the absolute lifetime, and the replaced SESSION_TTL_SECONDS, by name', async () => {
    let message = '';
    try {
      await startTestApp(testDatabase(), { SESSION_ABSOLUTE_TTL_DAYS: '5', SESSION_IDLE_TIMEOUT_DAYS: '6', SESSION_TTL_SECONDS: '3600', REFRESH_REUSE_GRACE_SECONDS: '-1' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.include('SESSION_IDLE_TIMEOUT_DAYS must not exceed SESSION_ABSOLUTE_TTL_DAYS');
    expect(message).to.include('SESSION_TTL_SECONDS is no longer read');
    expect(message).to.include('REFRESH_REUSE_GRACE_SECONDS');
  });

  it('opens sessions for SESSION_ABSOLUTE_TTL_DAYS', async () => {
    const { sessionId } = await signIn();
    const { created_at, expires_at } = await sessionRow(sessionId);
    const days = testApp().services.config.sessions.absoluteTtlSeconds / 86_400;
    expect(Math.round((expires_at.getTime() - created_at.getTime()) / 86_400_000)).to.equal(days);
  });
});
