import { expect } from 'chai';
import { expectFailure, expectNoRowChange, sql } from './support/expectations.js';
import { randomEmail, registerUser, request, strongPassword, type JsonResponse } from './support/http.js';
import { rawRequest } from './support/raw-http.js';

const ROUTES = ['/register', '/login'] as const;

/** Sends a bad request, asserting the contract's failure body, its status and that no row changed. */
async function refused(send: () => Promise<JsonResponse>, status: number, code: string): Promise<JsonResponse> {
  const response = await expectNoRowChange(send);
  expectFailure(response, status, code);
  return response;
}

function post(path: string, json: unknown) {
  return request('POST', path, { json });
}

function postRaw(path: string, raw: string | Buffer, contentType = 'application/json') {
  return request('POST', path, { raw, headers: { 'content-type': contentType } });
}

const WRONG_TYPES: Array<[string, unknown]> = [
  ['an empty array', []],
  ['an array of a string', ['someone@example.com']],
  ['an object', { value: 'someone@example.com' }],
  ['an empty object', {}],
  ['a number', 12345678901234],
  ['zero', 0],
  ['null', null],
  ['true', true],
  ['false', false],
  ['an empty string', ''],
];

describe('edge: bad inputs to /register and /login', () => {
  for (const path of ROUTES) {
    describe(`POST ${path}`, () => {
      it('refuses missing fields, naming each one', async () => {
        for (const [body, missing] of [
          [{}, ['email', 'password']],
          [{ email: randomEmail() }, ['password']],
          [{ password: strongPassword() }, ['email']],
          // A misspelt key is named as not allowed, beside the field it was meant to be.
          [{ mail: randomEmail(), pass: strongPassword() }, ['email', 'mail', 'pass', 'password']],
        ] as const) {
          const response = await refused(() => post(path, body), 400, 'invalid_request');
          expect(Object.keys(response.body.error.fields).sort()).to.deep.equal([...missing]);
        }
      });

      for (const field of ['email', 'password'] as const) {
        it(`refuses a ${field} of the wrong type or empty`, async () => {
          for (const [name, value] of WRONG_TYPES) {
            const body = { email: randomEmail(), password: strongPassword(), [field]: value };
            const response = await refused(() => post(path, body), 400, 'invalid_request');
            expect(response.body.error.fields, `${field} as ${name}`).to.have.property(field);
          }
        });
      }

      it('refuses a body that is not a JSON object', async () => {
        for (const raw of ['[]', '[{"email":"a@example.com","password":"x"}]', '"a string"', '42', 'null', 'true']) {
          await refused(() => postRaw(path, raw), 400, 'invalid_request');
        }
      });

      it('answers 400 invalid_json to malformed JSON', async () => {
        for (const raw of ['{', '{"email":', "{'email':'a@example.com'}", '{email: 1}', '{"a":1,}', 'nul', '{"a":1}}', '\u0000']) {
          await refused(() => postRaw(path, raw), 400, 'invalid_json');
        }
      });

      it('answers 400 (not 415) to a body-less POST', async () => {
        await refused(() => rawRequest({ path }), 400, 'invalid_request');
        await refused(() => rawRequest({ path, headers: { 'content-length': '0' } }), 400, 'invalid_request');
        await refused(() => request('POST', path), 400, 'invalid_request');
        await refused(() => rawRequest({ path, headers: { 'content-type': 'application/json', 'content-length': '0' } }), 400, 'invalid_request');
      });

      it('answers 415 to a body that is not JSON', async () => {
        const body = JSON.stringify({ email: randomEmail(), password: strongPassword() });
        for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) {
          await refused(() => postRaw(path, body, type), 415, 'unsupported_media_type');
        }
        await refused(() => rawRequest({ path, body, headers: { 'content-length': String(Buffer.byteLength(body)) } }), 415, 'unsupported_media_type');
      });

      it('answers 413 to a body over 64 KiB, sized or streamed', async () => {
        const big = JSON.stringify({ email: randomEmail(), password: strongPassword(), pad: 'x'.repeat(64 * 1024) });
        await refused(() => postRaw(path, big), 413, 'payload_too_large');
        const chunks = Array.from({ length: 20 }, () => 'x'.repeat(8 * 1024));
        const streamed = ['{"email":"a@example.com","pad":"', ...chunks, '"}'];
        await refused(() => rawRequest({ path, body: streamed, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
      });

      it('answers 413 to a 10 MB body and keeps answering afterwards', async function () {
        this.timeout(20_000);
        const huge = Buffer.alloc(10 * 1024 * 1024, 'a');
        const headers = { 'content-type': 'application/json', 'content-length': String(huge.length) };
        await refused(() => rawRequest({ path, body: huge, headers }), 413, 'payload_too_large');
        expect((await request('GET', '/health')).status).to.equal(200);
        const user = await registerUser();
        expect((await post('/login', { email: user.email, password: user.password })).status).to.equal(200);
      });

      it('refuses __proto__ and constructor keys without polluting any prototype', async () => {
        const base = `"email":"${randomEmail()}","password":"${strongPassword()}"`;
        for (const raw of [
          `{${base},"__proto__":{"polluted":"yes"}}`,
          `{"__proto__":{"polluted":"yes","email":"x@example.com"},${base}}`,
          `{${base},"constructor":{"prototype":{"polluted":"yes"}}}`,
          `{${base},"display_name":{"__proto__":{"polluted":"yes"}}}`,
          `{${base},"nested":[{"constructor":{"prototype":{"polluted":"yes"}}}]}`,
        ]) {
          const response = await expectNoRowChange(() => postRaw(path, raw));
          expect(response.status, raw).to.be.within(400, 499);
          expectFailure(response, response.status, response.body.error.code);
          expect(({} as any).polluted).to.equal(undefined);
          expect((Object.prototype as any).polluted).to.equal(undefined);
        }
      });

      it('refuses emails with control or invisible characters', async () => {
        for (const bad of ['\u0000', '\u0007', '\n', '\r\n', '\t', '\u007f', '\u0085', '\u200b', '\u2028', '\ufeff', ' ']) {
          const email = `a${bad}b-${Date.now()}@example.com`;
          const response = await refused(() => post(path, { email, password: strongPassword() }), 400, 'invalid_request');
          expect(response.body.error.fields).to.have.property('email');
        }
      });

      it('refuses over-long emails', async () => {
        for (const email of [`${'a'.repeat(65)}@example.com`, `${'a'.repeat(60)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`, `x@${'y'.repeat(2000)}.com`]) {
          const response = await refused(() => post(path, { email, password: strongPassword() }), 400, 'invalid_request');
          expect(response.body.error.fields, `${email.length} characters`).to.have.property('email');
        }
      });

      it('refuses SQL metacharacters in an email and leaves the tables intact', async () => {
        for (const email of ["a'; DROP TABLE users;--@x.com", "' OR '1'='1", "x@example.com' OR 1=1 --", 'a"b@x.com; DELETE FROM users']) {
          await refused(() => post(path, { email, password: strongPassword() }), 400, 'invalid_request');
        }
        const [{ count }] = await sql('SELECT count(*)::int AS count FROM users');
        expect(count).to.be.above(0);
      });
    });
  }

  describe('register-only fields', () => {
    for (const [field, values] of [
      ['display_name', [1, [], {}, true, 'x'.repeat(101), 'a\u0000b', 'line\nbreak']],
      ['locale', [1, [], 'not a locale!', 'x'.repeat(40)]],
      ['time_zone', [1, [], 'Mars/Olympus_Mons', '']],
    ] as const) {
      it(`refuses a bad ${field} with fields.${field}`, async () => {
        for (const value of values) {
          const body = { email: randomEmail(), password: strongPassword(), [field]: value };
          const response = await refused(() => post('/register', body), 400, 'invalid_request');
          expect(response.body.error.fields, JSON.stringify(value)).to.have.property(field);
        }
      });
    }
  });

  describe('valid but unusual inputs', () => {
    it("registers an email with a quote (o'brien) and logs in with it", async () => {
      const email = `o'brien.${Date.now()}@example.com`;
      const { userId } = await registerUser(email);
      const [row] = await sql('SELECT email FROM users WHERE id = $1', [userId]);
      expect(row.email).to.equal(email);
    });

    it('accepts a 64-character local part', async () => {
      const email = `${'a'.repeat(52)}${Date.now()}`.slice(0, 64) + '@example.com';
      const response = await post('/register', { email, password: strongPassword() });
      expect(response.status).to.equal(201);
      const [row] = await sql('SELECT email FROM users WHERE id = $1', [response.body.user_id]);
      expect(row.email).to.equal(email);
    });

    it('refuses stray keys, naming each, and creates no account', async () => {
      const email = randomEmail();
      const response = await refused(() => post('/register', { email, password: strongPassword(), role: 'admin', status: 'active', id: 'x' }), 400, 'invalid_request');
      expect(response.body.error.fields).to.deep.equal({ role: 'is not allowed', status: 'is not allowed', id: 'is not allowed' });
      expect(await sql('SELECT 1 FROM users WHERE email = $1', [email])).to.have.length(0);
    });

    it('answers a login with SQL metacharacters in the password like any wrong password', async () => {
      const { email, password } = await registerUser();
      const response = await post('/login', { email, password: "' OR '1'='1'; --" });
      expectFailure(response, 401, 'invalid_credentials');
      expect((await post('/login', { email, password })).status).to.equal(200);
    });
  });
});
