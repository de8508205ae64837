import { expect } from 'chai';
import { expectFailure, expectInvalidField, sql } from './support/expectations.js';
import { loginUser, registerUser, request } from './support/http.js';
import { outboxEventsOf } from './support/mail-harness.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signedIn() {
  const user = await registerUser();
  const { token } = await loginUser(user.email, user.password);
  return { ...user, token };
}

async function profileRow(userId: string) {
  const [row] = await sql('SELECT display_name, avatar_url, locale, time_zone, updated_at FROM user_profiles WHERE user_id = $1', [userId]);
  return row;
}

async function profileEvents(userId: string) {
  return (await outboxEventsOf(userId)).filter((event) => event.type === 'ProfileUpdated');
}

describe('profile', function () {
  this.timeout(30_000);

  it('GET /me/profile answers the stored profile', async () => {
    const user = await signedIn();
    const response = await request('GET', '/me/profile', { headers: bearer(user.token) });
    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.include({ display_name: null, avatar_url: null, locale: 'en', time_zone: 'UTC' });
    expect(response.body.updated_at).to.be.a('string');
    expectFailure(await request('GET', '/me/profile'), 401, 'unauthorized');
  });

  it('PATCH /me/profile sets the given fields, answers the profile and writes ProfileUpdated naming the fields only', async () => {
    const user = await signedIn();
    const response = await request('PATCH', '/me/profile', {
      json: { display_name: 'Zoë Müller', avatar_url: 'https://cdn.example.com/a/b.png?size=64', locale: 'de-at', time_zone: 'Europe/Berlin' },
      headers: bearer(user.token),
    });
    expect(response.status, response.text).to.equal(200);
    expect(response.body).to.include({ display_name: 'Zoë Müller', avatar_url: 'https://cdn.example.com/a/b.png?size=64', locale: 'de-AT', time_zone: 'Europe/Berlin' });
    expect(await profileRow(user.userId)).to.include({ display_name: 'Zoë Müller', locale: 'de-AT', time_zone: 'Europe/Berlin' });
    const events = await profileEvents(user.userId);
    expect(events.map((e) => e.data)).to.deep.equal([{ fields: 'avatar_url,display_name,locale,time_zone' }]);
    expect(JSON.stringify(events)).not.to.match(/Zo|cdn\.example|Berlin|de-AT/);

    // Only what is sent changes; null clears.
    const partial = await request('PATCH', '/me/profile', { json: { display_name: null }, headers: bearer(user.token) });
    expect(partial.status, partial.text).to.equal(200);
    expect(await profileRow(user.userId)).to.include({ display_name: null, avatar_url: 'https://cdn.example.com/a/b.png?size=64', locale: 'de-AT', time_zone: 'Europe/Berlin' });
    expect((await profileEvents(user.userId)).map((e) => e.data)).to.deep.equal([{ fields: 'avatar_url,display_name,locale,time_zone' }, { fields: 'display_name' }]);
    const read = await request('GET', '/me/profile', { headers: bearer(user.token) });
    expect(read.body).to.deep.equal(partial.body);
  });

  it('ugly inputs are 400 invalid_request naming the field, and no row changes', async () => {
    const user = await signedIn();
    await request('PATCH', '/me/profile', { json: { display_name: 'Before' }, headers: bearer(user.token) });
    const before = await profileRow(user.userId);
    const eventsBefore = (await outboxEventsOf(user.userId)).length;
    const cases: Array<[unknown, string]> = [
      [{ display_name: ['a'] }, 'display_name'],
      [{ display_name: { a: 1 } }, 'display_name'],
      [{ display_name: 42 }, 'display_name'],
      [{ display_name: true }, 'display_name'],
      [{ display_name: 'x'.repeat(101) }, 'display_name'],
      [{ display_name: '   ' }, 'display_name'],
      [{ display_name: 'a\u0000b' }, 'display_name'],
      [{ display_name: 'a\u202eb' }, 'display_name'],
      [{ avatar_url: 'http://example.com/a.png' }, 'avatar_url'],
      [{ avatar_url: 'javascript:alert(1)' }, 'avatar_url'],
      [{ avatar_url: 'data:image/png;base64,AAAA' }, 'avatar_url'],
      [{ avatar_url: 'https://user:pass@example.com/a.png' }, 'avatar_url'],
      [{ avatar_url: 'https://example.com/a b.png' }, 'avatar_url'],
      [{ avatar_url: 'not a url' }, 'avatar_url'],
      [{ avatar_url: `https://example.com/${'a'.repeat(2048)}` }, 'avatar_url'],
      [{ avatar_url: ['https://example.com/a.png'] }, 'avatar_url'],
      [{ locale: 'not a locale!' }, 'locale'],
      [{ locale: 'x'.repeat(36) }, 'locale'],
      [{ locale: null }, 'locale'],
      [{ locale: 7 }, 'locale'],
      [{ time_zone: 'Mars/Olympus' }, 'time_zone'],
      [{ time_zone: 'europe/berlin ' }, 'time_zone'],
      [{ time_zone: null }, 'time_zone'],
      [{ time_zone: { tz: 'UTC' } }, 'time_zone'],
      [{ email: 'new@example.com' }, 'email'],
      [{ display_name: 'Ok', status: 'active' }, 'status'],
      [{ user_id: '00000000-0000-0000-0000-000000000000' }, 'user_id'],
      [{}, 'body'],
      [[], 'body'],
      [null, 'body'],
      ['display_name', 'body'],
      [42, 'body'],
    ];
    for (const [json, field] of cases) {
      const response = await request('PATCH', '/me/profile', { json, headers: bearer(user.token) });
      expectInvalidField(response, field);
    }
    for (const raw of ['{"__proto__":{"display_name":"x"}}', '{"constructor":{"prototype":{"x":1}}}', '{"display_name":', 'nope']) {
      const response = await request('PATCH', '/me/profile', { raw, headers: { ...bearer(user.token), 'content-type': 'application/json' } });
      expectFailure(response, 400, 'invalid_json');
    }
    expectFailure(await request('PATCH', '/me/profile', { raw: 'display_name=x', headers: { ...bearer(user.token), 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    expect(await profileRow(user.userId)).to.deep.equal(before);
    expect((await outboxEventsOf(user.userId)).length).to.equal(eventsBefore);
  });
});
