import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import type { CDPSession, Page } from 'playwright-core';
import { withPage } from './support/browser.js';
import { expectFailure, sql } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { randomEmail, request, strongPassword } from './support/http.js';
import { freePort, startTestApp, type TestApp } from './support/test-app.js';

const amrOf = (token: string) => (jwt.decode(token) as { amr: string[] }).amr;

/**
 * A real browser's WebAuthn: headless Chromium with the DevTools protocol's virtual
 * authenticator (CTAP2, built in, resident keys, user verification), on a page of the
 * service's own origin, http://localhost:<port> (a secure context, and the RP id
 * `localhost`). The page turns the routes' JSON options into the browser's with
 * PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON and
 * answers with credential.toJSON(); the test carries the JSON between page and API.
 */

/** navigator.credentials.create with the route's options, in the page; the credential's JSON. The page code is a string: this file is type-checked without the DOM's types. */
function createCredential(page: Page, options: unknown): Promise<any> {
  return page.evaluate(`navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(${JSON.stringify(options)}) }).then((credential) => credential.toJSON())`);
}

/** navigator.credentials.get with the route's options, in the page; the assertion's JSON. */
function getAssertion(page: Page, options: unknown): Promise<any> {
  return page.evaluate(`navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(${JSON.stringify(options)}) }).then((credential) => credential.toJSON())`);
}

async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

describe('WebAuthn in a real browser (Chromium, virtual authenticator)', function () {
  this.timeout(120_000);
  let app: TestApp;
  let origin: string;

  before(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    app = await startTestApp(testDatabase(), { PORT: String(port), PUBLIC_URL: origin, WEBAUTHN_ORIGINS: origin });
  });

  after(async () => {
    await app?.close();
  });

  it('registers a passkey, signs in with it alone, and answers the second step of a password sign-in with it', async () => {
    const baseUrl = app.url;
    const email = randomEmail();
    const password = strongPassword();
    const created = await request('POST', '/register', { baseUrl, json: { email, password } });
    expect(created.status).to.equal(201);
    const userId: string = created.body.user_id;
    const signedIn = await request('POST', '/login', { baseUrl, json: { email, password } });
    const headers = { authorization: `Bearer ${signedIn.body.token}` };

    await withPage(async (page, record) => {
      const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
      // Any page of the service's origin: the docs page.
      await page.goto(`${origin}/docs`);
      expect(await page.evaluate('window.isSecureContext')).to.equal(true);

      // Registration.
      const started = await request('POST', '/mfa/webauthn/register/options', { baseUrl, headers });
      expect(started.status, started.text).to.equal(200);
      expect(started.body.options.rp.id).to.equal('localhost');
      const credential = await createCredential(page, started.body.options);
      expect(credential.type).to.equal('public-key');
      const registered = await request('POST', '/mfa/webauthn/register/verify', { baseUrl, headers, json: { response: credential, label: 'Chromium' } });
      expect(registered.status, registered.text).to.equal(201);
      expect(registered.body.credential).to.include({ label: 'Chromium', discoverable: true });
      expect(registered.body.recovery_codes).to.have.length(10);
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).to.have.length(1);
      expect(credentials[0]!.isResidentCredential).to.equal(true);
      expect(Buffer.from(credentials[0]!.credentialId, 'base64').toString('base64url')).to.equal(credential.id);

      // A passkey sign-in: no account named, the browser offers the passkey it holds.
      const passkey = await request('POST', '/login/passkey/options', { baseUrl });
      expect(passkey.body.options).not.to.have.property('allowCredentials');
      const assertion = await getAssertion(page, passkey.body.options);
      expect(Buffer.from(assertion.response.userHandle, 'base64url').toString('hex')).to.equal(userId.replace(/-/g, ''));
      const passkeySignIn = await request('POST', '/login/passkey/verify', { baseUrl, json: { passkey_token: passkey.body.passkey_token, response: assertion } });
      expect(passkeySignIn.status, passkeySignIn.text).to.equal(200);
      expect(amrOf(passkeySignIn.body.token)).to.deep.equal(['hwk', 'mfa']);
      expect((await request('GET', '/me', { baseUrl, headers: { authorization: `Bearer ${passkeySignIn.body.token}` } })).body.email).to.equal(email);
      // The same assertion again is refused: its passkey_token is spent, and a new one has another challenge.
      expectFailure(await request('POST', '/login/passkey/verify', { baseUrl, json: { passkey_token: passkey.body.passkey_token, response: assertion } }), 401, 'invalid_token');
      const fresh = await request('POST', '/login/passkey/options', { baseUrl });
      expectFailure(await request('POST', '/login/passkey/verify', { baseUrl, json: { passkey_token: fresh.body.passkey_token, response: assertion } }), 401, 'invalid_credentials');

      // A password sign-in now asks for the second step, answered with the same credential.
      const step = await request('POST', '/login', { baseUrl, json: { email, password } });
      expect(step.body.mfa_required, step.text).to.equal(true);
      expect(step.body.methods).to.deep.equal(['webauthn', 'recovery_code']);
      const options = await request('POST', '/login/webauthn/options', { baseUrl, json: { mfa_token: step.body.mfa_token } });
      expect(options.body.options.allowCredentials.map((allowed: { id: string }) => allowed.id)).to.deep.equal([credential.id]);
      const answer = await getAssertion(page, options.body.options);
      const secondStep = await request('POST', '/login/webauthn/verify', { baseUrl, json: { mfa_token: step.body.mfa_token, response: answer } });
      expect(secondStep.status, secondStep.text).to.equal(200);
      expect(amrOf(secondStep.body.token)).to.deep.equal(['pwd', 'hwk', 'mfa']);

      // The server kept the authenticator's counter.
      const [row] = await sql("SELECT sign_count::int AS sign_count, last_used_at FROM mfa_methods WHERE credential_id = $1", [credential.id]);
      const [after] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      expect(row.sign_count).to.equal(after!.signCount);
      expect(row.last_used_at).to.be.an.instanceOf(Date);
      expect(record.consoleErrors).to.deep.equal([]);
    });
  });
});
