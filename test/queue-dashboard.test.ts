import crypto from 'node:crypto';
import { expect } from 'chai';
import { grantRole, revokeRole } from '../shared/domain/manage-roles.js';
import { signedInAdmin, signedInUser } from './support/admin.js';
import { requestsOutside, withPage } from './support/browser.js';
import { expectFailure, sql } from './support/expectations.js';
import { testApp, testDatabase } from './support/hooks.js';
import { registerUser, request, type JsonResponse } from './support/http.js';
import { removeTestKeys, testPrefix } from './support/redis-keys.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
/** The test apps' PUBLIC_URL (test/support/test-app.ts) and so the Origin a change must carry. */
const OWN_ORIGIN = 'http://localhost:8001';
const HTTPS_PUBLIC_URL = 'https://dashboard.example.test';

interface Cookie {
  name: string;
  value: string;
  /** Attribute names as sent (lower-cased) with their values ('' for flags). */
  attributes: Record<string, string>;
}

function setCookies(response: JsonResponse): Cookie[] {
  return response.headers.getSetCookie().map((header) => {
    const [pair, ...rest] = header.split(/;\s*/);
    const [name, value] = pair!.split('=') as [string, string];
    const attributes = Object.fromEntries(rest.map((part) => {
      const [key, ...val] = part.split('=');
      return [key!.toLowerCase(), val.join('=')];
    }));
    return { name, value, attributes };
  });
}

function signIn(email: string, password: string, options: { app?: TestApp; userAgent?: string } = {}): Promise<JsonResponse> {
  return request('POST', '/admin/login', {
    form: { email, password },
    headers: options.userAgent ? { 'user-agent': options.userAgent } : {},
    baseUrl: (options.app ?? testApp()).url,
    redirect: 'manual',
  });
}

/** Signs an administrator in at the form and returns the request header that carries the cookie. */
async function adminCookieHeader(app?: TestApp): Promise<{ cookie: string; userId: string }> {
  const admin = await signedInAdmin();
  const response = await signIn(admin.email, admin.password, { app });
  expect(response.status, response.text).to.equal(303);
  const [cookie] = setCookies(response);
  return { cookie: `${cookie!.name}=${cookie!.value}`, userId: admin.userId };
}

async function loginAttempts(email: string) {
  return sql<{ success: boolean; reason: string | null }>('SELECT success, reason FROM login_attempts WHERE email = $1 ORDER BY id', [email]);
}

describe('queue dashboard (/admin/queues)', function () {
  this.timeout(90_000);
  const prefix = testPrefix('dashboard-test');
  /** An app of its own queue prefix, so the jobs this suite changes are its own. */
  let board: TestApp;

  before(async () => {
    board = await startTestApp(testDatabase(), { QUEUE_PREFIX: prefix });
  });

  after(async () => {
    await board?.close();
    await removeTestKeys(prefix);
  });

  describe('access', () => {
    it('without credentials sends a browser to /admin/login and answers 401 JSON to anything else', async () => {
      const browser = await request('GET', '/admin/queues', { headers: { accept: BROWSER_ACCEPT }, redirect: 'manual' });
      expect(browser.status).to.equal(303);
      expect(browser.headers.get('location')).to.equal('/admin/login');
      for (const accept of ['application/json', 'application/json, text/plain, */*', '*/*']) {
        expectFailure(await request('GET', '/admin/queues', { headers: { accept } }), 401, 'unauthorized');
        expectFailure(await request('GET', '/admin/queues/api/queues', { headers: { accept } }), 401, 'unauthorized');
      }
      expectFailure(await request('GET', '/admin/queues/static/favicon-32x32.png'), 401, 'unauthorized');
    });

    it('an admin Bearer token gets the board under its own CSP, without the remote fonts, and its API lists every queue', async () => {
      const admin = await signedInAdmin();
      const page = await request('GET', '/admin/queues', { headers: { ...admin.auth, accept: BROWSER_ACCEPT } });
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      expect(page.text).to.contain('<base href="/admin/queues/"').and.not.contain('fonts.googleapis.com');
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).to.contain("default-src 'none'").and.contain("script-src 'self'").and.contain("connect-src 'self'").and.not.contain('https:');

      const queues = await request('GET', '/admin/queues/api/queues', { headers: admin.auth });
      expect(queues.status, queues.text).to.equal(200);
      expect(queues.headers.get('cache-control')).to.equal('no-store');
      expect(queues.body.queues.map((queue: { name: string }) => queue.name).sort()).to.deep.equal(['anomaly', 'audit', 'email']);
    });

    it('a signed-in non-admin gets 403 (a page for a browser); a revoked role or an ended session stops working at the next request', async () => {
      const user = await signedInUser();
      expectFailure(await request('GET', '/admin/queues', { headers: user.auth }), 403, 'forbidden');
      const page = await request('GET', '/admin/queues', { headers: { ...user.auth, accept: BROWSER_ACCEPT }, redirect: 'manual' });
      expect(page.status).to.equal(403);
      expect(page.text).to.contain('Not an administrator');

      const admin = await signedInAdmin();
      expect((await request('GET', '/admin/queues/api/queues', { headers: admin.auth })).status).to.equal(200);
      await revokeRole(testApp().services.pool, { userId: admin.userId, role: 'admin' });
      expectFailure(await request('GET', '/admin/queues/api/queues', { headers: admin.auth }), 403, 'forbidden');
      await grantRole(testApp().services.pool, { userId: admin.userId, role: 'admin' });
      expect((await request('POST', '/logout', { headers: admin.auth })).status).to.equal(204);
      expectFailure(await request('GET', '/admin/queues/api/queues', { headers: admin.auth }), 401, 'unauthorized');
      expectFailure(await request('GET', '/admin/queues', { headers: { authorization: 'Bearer not-a-token' } }), 401, 'unauthorized');
    });

    it('a change needs the service\'s own Origin: refused (403) with a foreign or missing one on the cookie, accepted from a Bearer caller without one', async () => {
      const queue = board.queueSet.queues.email;
      const delayed = (id: string) => queue.add('send-verification-mail', { event_id: id }, { jobId: id, delay: 3_600_000 });
      const promote = (id: string, headers: Record<string, string>) =>
        request('PUT', `/admin/queues/api/queues/email/${id}/promote`, { headers, baseUrl: board.url });
      const { cookie } = await adminCookieHeader(board);
      const admin = await signedInAdmin();

      await delayed('dashboard-a');
      expectFailure(await promote('dashboard-a', { cookie, origin: 'https://evil.example' }), 403, 'forbidden');
      expectFailure(await promote('dashboard-a', { cookie }), 403, 'forbidden');
      expectFailure(await promote('dashboard-a', { cookie, origin: 'null' }), 403, 'forbidden');
      expectFailure(await promote('dashboard-a', { ...admin.auth, origin: 'http://localhost:8002' }), 403, 'forbidden');
      expect(await queue.getJobState('dashboard-a')).to.equal('delayed');

      expect((await promote('dashboard-a', { cookie, origin: OWN_ORIGIN })).status).to.equal(204);
      expect(await queue.getJobState('dashboard-a')).to.equal('waiting');
      await delayed('dashboard-b');
      expect((await promote('dashboard-b', admin.auth)).status).to.equal(204);
      expect(await queue.getJobState('dashboard-b')).to.equal('waiting');
    });
  });

  describe('sign-in form (/admin/login)', () => {
    it('serves the form; an admin gets a 303 to the board with a short-lived HttpOnly, SameSite=Strict cookie on /admin, recorded in login_attempts', async () => {
      const form = await request('GET', '/admin/login');
      expect(form.status).to.equal(200);
      expect(form.text).to.match(/<form method="post" action="login">/).and.contain('name="email"').and.contain('name="password"');

      const { email, password, userId } = await registerUser();
      await grantRole(testApp().services.pool, { userId, role: 'admin' });
      const signedIn = await signIn(email, password, { userAgent: 'dashboard-test/1.0' });
      expect(signedIn.status, signedIn.text).to.equal(303);
      expect(signedIn.headers.get('location')).to.equal('/admin/queues');
      expect(signedIn.headers.get('cache-control')).to.equal('no-store');
      const [cookie, ...others] = setCookies(signedIn);
      expect(others).to.deep.equal([]);
      expect(cookie!.name).to.equal('admin_session');
      expect(cookie!.attributes).to.deep.equal({
        'max-age': String(testApp().services.config.tokens.accessTtlSeconds),
        path: '/admin',
        httponly: '',
        samesite: 'Strict',
      });
      expect(await loginAttempts(email)).to.deep.equal([{ success: true, reason: null }]);
      const [session] = await sql('SELECT user_agent, revoked_at FROM sessions WHERE user_id = $1', [userId]);
      expect(session).to.deep.equal({ user_agent: 'dashboard-test/1.0', revoked_at: null });

      const withCookie = { cookie: `admin_session=${cookie!.value}` };
      const page = await request('GET', '/admin/queues', { headers: { ...withCookie, accept: BROWSER_ACCEPT } });
      expect(page.status).to.equal(200);
      expect(page.text).to.contain('<div id="root">');
      expect((await request('GET', '/admin/queues/api/queues', { headers: withCookie })).status).to.equal(200);
    });

    it('sets Secure on the cookie only when PUBLIC_URL is https', async () => {
      const https = await startTestApp(testDatabase(), { PUBLIC_URL: HTTPS_PUBLIC_URL });
      try {
        const admin = await signedInAdmin();
        const [cookie] = setCookies(await signIn(admin.email, admin.password, { app: https }));
        expect(cookie!.attributes).to.include({ path: '/admin', httponly: '', samesite: 'Strict', secure: '' });
      } finally {
        await https.close();
      }
    });

    it('a wrong password gets the form again with the generic message and 401, no cookie, and a failed login_attempts row with LoginFailed', async () => {
      const { email, userId } = await registerUser();
      await grantRole(testApp().services.pool, { userId, role: 'admin' });
      const refused = await signIn(email, 'Wrong-password-1234');
      expect(refused.status).to.equal(401);
      expect(refused.headers.get('content-type')).to.match(/^text\/html/);
      expect(refused.text).to.contain('The email or password is incorrect.').and.contain(`value="${email}"`).and.contain('name="password"');
      expect(setCookies(refused)).to.deep.equal([]);
      const unknown = await signIn(`nobody-${crypto.randomBytes(4).toString('hex')}@example.com`, 'Wrong-password-1234');
      expect(unknown.status).to.equal(401);
      expect(unknown.text).to.contain('The email or password is incorrect.');
      expect(await loginAttempts(email)).to.deep.equal([{ success: false, reason: 'invalid_password' }]);
      const events = await sql("SELECT payload->'data'->>'reason' AS reason FROM outbox WHERE aggregate_id = $1 AND type = 'LoginFailed'", [userId]);
      expect(events).to.deep.equal([{ reason: 'invalid_password' }]);
      const empty = await request('POST', '/admin/login', { form: { email: '', password: '' }, redirect: 'manual' });
      expect(empty.status).to.equal(400);
      expect(empty.text).to.contain('Enter your email address and your password.');
    });

    it('a non-admin who signs in correctly gets a 403 page and no cookie, and the session the sign-in opened is ended', async () => {
      const { email, password, userId } = await registerUser();
      const refused = await signIn(email, password);
      expect(refused.status).to.equal(403);
      expect(refused.text).to.contain('Not an administrator');
      expect(setCookies(refused)).to.deep.equal([]);
      // A correct sign-in all the same, scored like any other.
      expect(await loginAttempts(email)).to.deep.equal([{ success: true, reason: null }]);
      const sessions = await sql('SELECT id, revoked_at IS NOT NULL AS ended FROM sessions WHERE user_id = $1', [userId]);
      expect(sessions.map((session) => session.ended)).to.deep.equal([true]);
      const events = await sql("SELECT type, payload->'data' AS data FROM outbox WHERE aggregate_id = $1 AND type IN ('LoginSucceeded', 'SessionRevoked') ORDER BY id", [userId]);
      expect(events.map((event) => event.type)).to.deep.equal(['LoginSucceeded', 'SessionRevoked']);
      expect(events[1]!.data).to.deep.equal({ session_id: sessions[0]!.id, reason: 'not_admin' });
    });

    it('answers a spent login limit with the 429 page and Retry-After', async () => {
      const prefix = testPrefix('rl-dashboard');
      const limited = await startTestApp(testDatabase(), {
        RATE_LIMIT_SCALE: '1',
        RATE_LIMIT_PREFIX: prefix,
        RATE_LIMIT_LOGIN_IP: '1000/900',
        RATE_LIMIT_LOGIN_ACCOUNT: '2/900',
        RATE_LIMIT_LOGIN_IP_ACCOUNT: '1000/900',
        RATE_LIMIT_DELAY_BASE_MS: '0',
      });
      try {
        const { email, password } = await registerUser();
        for (let i = 0; i < 2; i++) expect((await signIn(email, 'Wrong-password-1234', { app: limited })).status).to.equal(401);
        const spent = await signIn(email, password, { app: limited });
        expect(spent.status).to.equal(429);
        expect(spent.headers.get('content-type')).to.match(/^text\/html/);
        expect(spent.text).to.contain('Too many attempts');
        expect(Number(spent.headers.get('retry-after'))).to.be.within(1, 900);
        expect(setCookies(spent)).to.deep.equal([]);
      } finally {
        await limited.close();
        await removeTestKeys(prefix);
      }
    });

    it('POST /admin/logout ends the cookie\'s session, clears the cookie and goes back to the form', async () => {
      const { cookie, userId } = await adminCookieHeader();
      expect((await request('GET', '/admin/logout')).text).to.contain('action="logout"');
      const out = await request('POST', '/admin/logout', { headers: { cookie }, form: {}, redirect: 'manual' });
      expect(out.status).to.equal(303);
      expect(out.headers.get('location')).to.equal('/admin/login');
      const [cleared] = setCookies(out);
      expect(cleared).to.deep.include({ name: 'admin_session', value: '' });
      expect(cleared!.attributes).to.include({ 'max-age': '0', path: '/admin' });
      expectFailure(await request('GET', '/admin/queues/api/queues', { headers: { cookie } }), 401, 'unauthorized');
      const [revoked] = await sql("SELECT payload->'data'->>'reason' AS reason FROM outbox WHERE aggregate_id = $1 AND type = 'SessionRevoked'", [userId]);
      expect(revoked).to.deep.equal({ reason: 'logout' });
      // Without a cookie there is nothing to end: the same answer.
      expect((await request('POST', '/admin/logout', { redirect: 'manual' })).status).to.equal(303);
    });
  });

  describe('in a real browser (headless Chromium)', () => {
    it('an admin signs in at /admin/login, sees every queue and signs out from the menu; nothing loads from elsewhere and no CSP is violated', async () => {
      const admin = await signedInAdmin();
      await withPage(async (page, record) => {
        await page.goto(`${board.url}/admin/queues`);
        expect(new URL(page.url()).pathname).to.equal('/admin/login');
        await page.fill('#email', admin.email);
        await page.fill('#password', admin.password);
        await Promise.all([page.waitForURL(`${board.url}/admin/queues`), page.click('button[type=submit]')]);
        const sidebar = page.locator('nav, aside').first();
        for (const name of ['email', 'audit', 'anomaly']) await sidebar.getByText(name, { exact: true }).waitFor();
        await page.waitForLoadState('networkidle');
        const screenshot = await record.screenshot('queue-dashboard', { fullPage: true });
        console.log(`      screenshot: ${screenshot}`);

        expect(requestsOutside(record, board.url)).to.deep.equal([]);
        expect(record.requests).to.include(`${board.url}/admin/queues/api/queues?page=1&jobsPerPage=10`);
        expect(record.cspViolations).to.deep.equal([]);
        // The sign-in page has no icon of its own, so the browser asks for /favicon.ico, which the API does not serve.
        expect(record.consoleErrors.filter((message) => !message.includes('/favicon.ico'))).to.deep.equal([]);

        // The board's user menu links to the sign-out page, whose button ends the session.
        await page.locator('header button[aria-haspopup="menu"]').click();
        await Promise.all([page.waitForURL(`${board.url}/admin/logout`), page.getByText('Sign out', { exact: true }).click()]);
        await Promise.all([page.waitForURL(`${board.url}/admin/login`), page.click('button[type=submit]')]);
        expect(await page.context().cookies()).to.deep.equal([]);
        await page.goto(`${board.url}/admin/queues`);
        expect(new URL(page.url()).pathname).to.equal('/admin/login');
      });
      expect((await loginAttempts(admin.email)).filter((attempt) => attempt.success)).to.have.length(2);
    });

    it('a non-admin who signs in stays out', async () => {
      const user = await signedInUser();
      await withPage(async (page) => {
        await page.goto(`${board.url}/admin/login`);
        await page.fill('#email', user.email);
        await page.fill('#password', user.password);
        const [response] = await Promise.all([page.waitForResponse(`${board.url}/admin/login`), page.click('button[type=submit]')]);
        expect(response.status()).to.equal(403);
        await page.getByText('Not an administrator').waitFor();
        expect(await page.context().cookies()).to.deep.equal([]);
        await page.goto(`${board.url}/admin/queues`);
        expect(new URL(page.url()).pathname).to.equal('/admin/login');
      });
    });
  });
});
