import { expect } from 'chai';
import { signedInAdmin } from './support/admin.js';
import { request } from './support/http.js';
import { oathtoolCode } from './support/oathtool.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The mfa_token in the second-step form's hidden field. */
function mfaTokenIn(html: string): string {
  const match = /name="mfa_token" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no mfa_token in the page:\n${html}`);
  return match[1]!;
}

describe('dashboard sign-in of an account with a second factor', function () {
  this.timeout(60_000);

  it('asks for the code: the password alone never sets the cookie; a wrong code shows the form again; the right one lets the admin in', async () => {
    const admin = await signedInAdmin();
    const { secret } = (await request('POST', '/mfa/totp/enroll', { headers: bearer(admin.token) })).body;
    const activated = await request('POST', '/mfa/totp/activate', { json: { code: await oathtoolCode(secret) }, headers: bearer(admin.token) });
    expect(activated.status).to.equal(200);

    const password = await request('POST', '/admin/login', { form: { email: admin.email, password: admin.password }, redirect: 'manual' });
    expect(password.status).to.equal(200);
    expect(password.headers.getSetCookie()).to.deep.equal([]);
    expect(password.text).to.contain('Enter your code').and.contain('autocomplete="one-time-code"');
    const mfaToken = mfaTokenIn(password.text);

    const wrong = await request('POST', '/admin/login/mfa', { form: { mfa_token: mfaToken, code: '000000' }, redirect: 'manual' });
    expect(wrong.status).to.equal(401);
    expect(wrong.headers.getSetCookie()).to.deep.equal([]);
    expect(mfaTokenIn(wrong.text)).to.equal(mfaToken);

    const right = await request('POST', '/admin/login/mfa', { form: { mfa_token: mfaToken, code: await oathtoolCode(secret, { steps: 1 }) }, redirect: 'manual' });
    expect(right.status, right.text).to.equal(303);
    expect(right.headers.get('location')).to.equal('/admin/queues');
    const [cookie] = right.headers.getSetCookie();
    expect(cookie).to.match(/^admin_session=[\w-]+\.[\w-]+\.[\w-]+;/);
    const board = await request('GET', '/admin/queues/api/queues', { headers: { cookie: cookie!.split(';')[0]! } });
    expect(board.status).to.equal(200);

    const spent = await request('POST', '/admin/login/mfa', { form: { mfa_token: mfaToken, code: activated.body.recovery_codes[0] }, redirect: 'manual' });
    expect(spent.status).to.equal(401);
    expect(spent.text).to.contain('Sign in to the dashboard');
  });

  it('takes a recovery code in the same field', async () => {
    const admin = await signedInAdmin();
    const { secret } = (await request('POST', '/mfa/totp/enroll', { headers: bearer(admin.token) })).body;
    const codes: string[] = (await request('POST', '/mfa/totp/activate', { json: { code: await oathtoolCode(secret) }, headers: bearer(admin.token) })).body.recovery_codes;
    const password = await request('POST', '/admin/login', { form: { email: admin.email, password: admin.password }, redirect: 'manual' });
    const signedIn = await request('POST', '/admin/login/mfa', { form: { mfa_token: mfaTokenIn(password.text), code: codes[5]! }, redirect: 'manual' });
    expect(signedIn.status).to.equal(303);
  });
});
