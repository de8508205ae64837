import { expect } from 'chai';
import crypto from 'node:crypto';
import { expectFailure, expectInvalidField, expectNoRowChange, sql } from './support/expectations.js';
import { loginUser, randomEmail, registerUser, request, strongPassword } from './support/http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** ASCII letters, digits and punctuation as their fullwidth compatibility forms (NFKC folds them back). */
function fullwidth(text: string): string {
  return text.replace(/[!-~]/g, (char) => String.fromCharCode(char.charCodeAt(0) - 0x21 + 0xff01));
}

/** Upper-cases a random half of the letters. */
function mixedCase(text: string): string {
  return [...text].map((char) => (crypto.randomInt(2) ? char.toUpperCase() : char.toLowerCase())).join('');
}

function register(body: unknown) {
  return request('POST', '/register', { json: body });
}

describe('POST /register', () => {
  it('answers 201 {message, user_id} and creates the users and user_profiles rows', async () => {
    const email = randomEmail();
    const response = await register({
      email,
      password: strongPassword(),
      display_name: 'Ada Lovelace',
      locale: 'en-GB',
      time_zone: 'Europe/London',
    });
    expect(response.status).to.equal(201);
    expect(Object.keys(response.body).sort()).to.deep.equal(['message', 'user_id']);
    expect(response.body.message).to.equal('success');
    expect(response.body.user_id).to.match(UUID);

    const [user] = await sql('SELECT email, status, email_verified FROM users WHERE id = $1', [response.body.user_id]);
    expect(user).to.deep.include({ email, status: 'active', email_verified: false });
    const [profile] = await sql('SELECT display_name, locale, time_zone FROM user_profiles WHERE user_id = $1', [
      response.body.user_id,
    ]);
    expect(profile).to.deep.equal({ display_name: 'Ada Lovelace', locale: 'en-GB', time_zone: 'Europe/London' });
  });

  it('stores an argon2id hash (m=19456, t=2, p=1) that no response ever shows', async () => {
    const { email, password, userId } = await registerUser();
    const [row] = await sql('SELECT password_hash FROM users WHERE id = $1', [userId]);
    const [, algorithm, version, params] = (row.password_hash as string).split('$');
    expect(algorithm).to.equal('argon2id');
    expect(version).to.equal('v=19');
    expect(params!.split(',').sort()).to.deep.equal(['m=19456', 'p=1', 't=2']);
    expect(row.password_hash).not.to.include(password);

    const login = await request('POST', '/login', { json: { email, password } });
    const me = await request('GET', '/me', { headers: { authorization: `Bearer ${login.body.token}` } });
    expect(me.status).to.equal(200);
    for (const response of [login, me]) {
      expect(response.text).not.to.include('$argon2');
      expect(response.text).not.to.include('password_hash');
      expect(response.text).not.to.include(password);
    }
  });

  it('writes UserRegistered to the outbox with a UUID event_id and no email, password or hash', async () => {
    const { email, password, userId } = await registerUser();
    const events = await sql('SELECT event_id, type, aggregate_id, payload FROM outbox WHERE aggregate_id = $1', [userId]);
    expect(events.map((event) => event.type)).to.deep.equal(['UserRegistered']);
    const [event] = events;
    expect(event.event_id).to.match(UUID);
    expect(Object.keys(event.payload).sort()).to.deep.equal(['data', 'event_id', 'occurred_at', 'type', 'user_id']);
    expect(event.payload).to.deep.include({ event_id: event.event_id, type: 'UserRegistered', user_id: userId });
    expect(Number.isNaN(Date.parse(event.payload.occurred_at))).to.equal(false);
    expect(event.payload.data).to.be.an('object');

    const text = JSON.stringify(event.payload);
    for (const secret of [email, email.split('@')[0]!, password, '$argon2', 'password', 'hash']) {
      expect(text.toLowerCase()).not.to.include(secret.toLowerCase());
    }
  });

  describe('MIME encoded-words in addresses', () => {
    const tag = () => crypto.randomBytes(4).toString('hex');
    // A mail server that decodes =?charset?encoding?text?= could deliver to another mailbox than the one stored.
    const encoded = (): string[] => [
      `=?utf-8?b?${Buffer.from(`victim${tag()}@evil.example`).toString('base64')}?=@example.com`,
      `=?utf-8?q?victim=40evil.example?=${tag()}@example.com`,
      `user${tag()}=?iso-8859-1?q?=41?=@example.com`,
      `=?UTF-8?B?dXNlcg==?=${tag()}@example.com`,
    ];

    it('refuses them at register with 400 invalid_request naming the email, and stores nothing', async () => {
      for (const email of encoded()) {
        const response = await expectNoRowChange(() => register({ email, password: strongPassword() }));
        expectInvalidField(response, 'email');
      }
    });

    it('refuses them at login and password forgot too, before any row is written', async () => {
      for (const email of encoded()) {
        expectInvalidField(await expectNoRowChange(() => request('POST', '/login', { json: { email, password: strongPassword() } })), 'email');
        expectInvalidField(await expectNoRowChange(() => request('POST', '/password/forgot', { json: { email } })), 'email');
      }
    });
  });

  describe('duplicates', () => {
    it('answers 409 email_taken for the same address in another case, without a second row', async () => {
      const { email, password } = await registerUser();
      for (const variant of [email.toUpperCase(), mixedCase(email), `  ${email}  `]) {
        const response = await expectNoRowChange(() => register({ email: variant, password }));
        expectFailure(response, 409, 'email_taken');
      }
    });

    it('answers 409 for a fullwidth (NFKC-equivalent) form of an existing address', async () => {
      const local = `alice${crypto.randomBytes(4).toString('hex')}`;
      await registerUser(`${local}@example.com`);
      const response = await expectNoRowChange(() =>
        register({ email: `${fullwidth(local)}@example.com`, password: strongPassword() }),
      );
      expectFailure(response, 409, 'email_taken');
      const again = await register({ email: fullwidth(`${local.toUpperCase()}@example.com`), password: strongPassword() });
      expectFailure(again, 409, 'email_taken');
    });

    it('stores a fullwidth address in its NFKC form, so the ASCII form logs in', async () => {
      const local = `bob${crypto.randomBytes(4).toString('hex')}`;
      const { password, userId } = await registerUser(fullwidth(`${local}@example.com`));
      const [row] = await sql('SELECT email FROM users WHERE id = $1', [userId]);
      expect(row.email).to.equal(`${local}@example.com`);
      expect((await loginUser(`${local}@example.com`, password)).token).to.be.a('string');
    });

    it('takes an internationalised domain and its xn-- (IDNA) form for one mailbox: one account, stored in the ASCII form', async () => {
      for (const [first, second] of [
        ['bücher.de', 'xn--bcher-kva.de'],
        ['xn--bcher-kva.de', 'BÜCHER.DE'],
        ['пример.рф', 'xn--e1afmkfd.xn--p1ai'],
      ] as const) {
        const local = `u-${crypto.randomBytes(4).toString('hex')}`;
        const { password, userId } = await registerUser(`${local}@${first}`);
        const [row] = await sql('SELECT email FROM users WHERE id = $1', [userId]);
        expect(row.email, first).to.equal(`${local}@${first.startsWith('xn--') ? first : first === 'bücher.de' ? 'xn--bcher-kva.de' : 'xn--e1afmkfd.xn--p1ai'}`);
        const again = await expectNoRowChange(() => register({ email: `${local}@${second}`, password: strongPassword() }));
        expectFailure(again, 409, 'email_taken');
        expect((await loginUser(`${local}@${second}`, password)).token, `${first} signs in as ${second}`).to.be.a('string');
      }
    });

    it('refuses a domain that is no valid IDNA name (bad punycode) with 400 naming the email', async () => {
      expectInvalidField(await expectNoRowChange(() => register({ email: `u-${crypto.randomBytes(4).toString('hex')}@xn--zz.de`, password: strongPassword() })), 'email');
    });

    it('lets exactly one of 50 concurrent mixed-case registrations of one address win', async function () {
      this.timeout(60_000);
      const email = randomEmail();
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => register({ email: mixedCase(email), password: strongPassword() })),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 201)).to.have.length(1);
      expect(statuses.filter((status) => status === 409)).to.have.length(49);
      for (const response of responses.filter((r) => r.status === 409)) expectFailure(response, 409, 'email_taken');
      const [{ count }] = await sql('SELECT count(*)::int AS count FROM users WHERE email = $1', [email]);
      expect(count).to.equal(1);
      const [{ events }] = await sql(
        `SELECT count(*)::int AS events FROM outbox o JOIN users u ON u.id = o.aggregate_id
          WHERE u.email = $1 AND o.type = 'UserRegistered'`,
        [email],
      );
      expect(events).to.equal(1);
    });
  });

  describe('password policy', () => {
    const refusals: Array<[string, (email: string) => string]> = [
      ['11 characters', () => 'Xk9#mP2$vL4'],
      ['257 characters', () => crypto.randomBytes(300).toString('base64url').slice(0, 257)],
      ['a common password', () => 'password1234'],
      ['a common password in l33t', () => 'P@55w0rd!2024'],
      ['a long repetition of a common password', () => 'password1234'.repeat(21)],
      ['the email itself', (email) => email],
      ['the email with a suffix', (email) => `${email}2024`],
      ['the local part with a suffix', (email) => `${email.split('@')[0]}!2024`],
    ];
    for (const [name, makePassword] of refusals) {
      it(`refuses ${name} with 400 invalid_request naming the password`, async () => {
        const email = randomEmail();
        const response = await expectNoRowChange(() => register({ email, password: makePassword(email) }));
        expectInvalidField(response, 'password');
        expect(response.text).not.to.include(makePassword(email));
      });
    }

    it('accepts exactly 12 and exactly 256 characters', async () => {
      await registerUser(randomEmail(), 'vQ7#zR2!mK9@');
      await registerUser(randomEmail(), crypto.randomBytes(300).toString('base64url').slice(0, 256));
    });

    it('accepts a strong 256-character password of varied emoji and letters, and logs in with it', async () => {
      const emoji = ['😀', '🚀', '🦄', '🍕', '🎉', '🐙', '🌈', '🔥', '🧩', '🛸', '🥑', '🎻', '🧬', '🪐', '🐢', '🍄'];
      const chars = Array.from({ length: 256 }, (_, i) =>
        i % 3 === 0 ? String.fromCharCode(97 + crypto.randomInt(26)) : emoji[crypto.randomInt(emoji.length)]!,
      );
      const password = chars.join('');
      expect([...password]).to.have.length(256);
      const { email } = await registerUser(randomEmail(), password);
      expect((await loginUser(email, password)).token).to.be.a('string');
      const wrong = await request('POST', '/login', { json: { email, password: password.slice(0, -2) } });
      expectFailure(wrong, 401, 'invalid_credentials');
    });

    it('hashes the NFKC form, so a fullwidth password logs in with its ASCII equivalent and back', async () => {
      const ascii = strongPassword();
      const { email } = await registerUser(randomEmail(), fullwidth(ascii));
      expect((await loginUser(email, ascii)).token).to.be.a('string');
      expect((await loginUser(email, fullwidth(ascii))).token).to.be.a('string');

      const other = await registerUser(randomEmail(), ascii);
      expect((await loginUser(other.email, fullwidth(ascii))).token).to.be.a('string');
    });

    it('does not trim or fold case in passwords', async () => {
      const { email, password } = await registerUser();
      for (const variant of [` ${password}`, `${password} `, password.toUpperCase(), password.toLowerCase()]) {
        const response = await request('POST', '/login', { json: { email, password: variant } });
        expectFailure(response, 401, 'invalid_credentials');
      }
    });
  });
});
