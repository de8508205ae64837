import { expect } from 'chai';
import { expectFailure, sql } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { linksIn, outboxEventsOf, settle, startMailHarness, type MailHarness } from './support/mail-harness.js';
import { randomEmail, request, strongPassword } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe('REGISTER_ENUMERATION_SAFE=true', function () {
  this.timeout(60_000);
  let mail: MailHarness;
  let safe: TestApp;

  before(async () => {
    mail = await startMailHarness();
    safe = await startTestApp(testDatabase(), { REGISTER_ENUMERATION_SAFE: 'true' });
  });

  after(async () => {
    await safe?.close();
    await mail?.stop();
  });

  async function registerOwner(locale: string) {
    const email = randomEmail();
    const response = await request('POST', '/register', { json: { email, password: strongPassword(), locale } });
    expect(response.status, response.text).to.equal(201);
    // The verification mail comes first; the notice is the one after it.
    await mail.sink.waitForMails(email, 1);
    return { email, userId: response.body.user_id as string };
  }

  it('a taken address gets the same 201 shape, nothing is stored, and the owner is mailed (German profile)', async () => {
    const owner = await registerOwner('de-AT');
    const users = await sql<{ n: number }>('SELECT count(*)::int AS n FROM users');
    const response = await request('POST', '/register', { json: { email: owner.email.toUpperCase(), password: strongPassword() }, baseUrl: safe.url });
    expect(response.status, response.text).to.equal(201);
    expect(Object.keys(response.body).sort()).to.deep.equal(['message', 'user_id']);
    expect(response.body.message).to.equal('success');
    expect(response.body.user_id).to.match(/^[0-9a-f-]{36}$/).and.not.equal(owner.userId);
    expect(await sql('SELECT id FROM users WHERE id = $1', [response.body.user_id])).to.have.length(0);
    expect((await sql<{ n: number }>('SELECT count(*)::int AS n FROM users'))[0]!.n).to.equal(users[0]!.n);
    const events = (await outboxEventsOf(owner.userId)).filter((e) => e.type === 'RegistrationAttempted');
    expect(events).to.have.length(1);
    expect(events[0]!.data).to.deep.equal({});

    const mails = await mail.sink.waitForMails(owner.email, 2);
    const notice = mails[1]!;
    expect(notice.parsed.subject).to.equal('Jemand wollte sich mit Ihrer Adresse registrieren');
    expect(notice.parsed.text).to.include('kein zweites angelegt');
    expect(linksIn(notice.parsed.text ?? '')).to.deep.equal([]);

    // Again within the cooldown: the same answer, no second event or mail.
    const again = await request('POST', '/register', { json: { email: owner.email, password: strongPassword() }, baseUrl: safe.url });
    expect(again.status, again.text).to.equal(201);
    expect((await outboxEventsOf(owner.userId)).filter((e) => e.type === 'RegistrationAttempted')).to.have.length(1);
    await settle();
    expect(mail.sink.mailsTo(owner.email)).to.have.length(2);
  });

  it('the notice is in English for an English profile', async () => {
    const owner = await registerOwner('en-GB');
    expect((await request('POST', '/register', { json: { email: owner.email, password: strongPassword() }, baseUrl: safe.url })).status).to.equal(201);
    const notice = (await mail.sink.waitForMails(owner.email, 2))[1]!;
    expect(notice.parsed.subject).to.equal('Someone tried to register with your address');
    expect(notice.parsed.text).to.include('no second one was created');
  });

  it('a new address still registers for real; bad input is still 400; without the setting a taken address is 409', async () => {
    const email = randomEmail();
    const password = strongPassword();
    const created = await request('POST', '/register', { json: { email, password }, baseUrl: safe.url });
    expect(created.status, created.text).to.equal(201);
    expect(await sql('SELECT id FROM users WHERE id = $1', [created.body.user_id])).to.have.length(1);
    expectFailure(await request('POST', '/register', { json: { email, password: 'short' }, baseUrl: safe.url }), 400, 'invalid_request');
    expectFailure(await request('POST', '/register', { json: { email, password: strongPassword() } }), 409, 'email_taken');
  });
});
