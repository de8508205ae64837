import { expect } from 'chai';
import { startMailHarness, type MailHarness } from './support/mail-harness.js';
import { loginUser, randomEmail, request, strongPassword } from './support/http.js';
import { oathtoolCode } from './support/oathtool.js';
import { waitFor } from './support/wait-for.js';

describe('second-factor notices by mail', function () {
  this.timeout(60_000);
  let mail: MailHarness;

  before(async () => {
    mail = await startMailHarness();
  });

  after(async () => {
    await mail?.stop();
  });

  it('mails the owner when TOTP is turned on and off, in their language, with no secret and no link', async () => {
    const email = randomEmail();
    const password = strongPassword();
    expect((await request('POST', '/register', { json: { email, password, locale: 'de' } })).status).to.equal(201);
    const { token } = await loginUser(email, password);
    const headers = { authorization: `Bearer ${token}` };
    const { secret } = (await request('POST', '/mfa/totp/enroll', { headers })).body;
    const activated = await request('POST', '/mfa/totp/activate', { json: { code: await oathtoolCode(secret) }, headers });
    expect(activated.status).to.equal(200);
    expect((await request('DELETE', '/mfa/totp', { json: { password }, headers })).status).to.equal(204);

    // One notice per change (TOTP on; TOTP off; recovery codes gone with it). The verification
    // mail goes to the same address from another worker and may arrive in any order among them.
    const notices = await waitFor('the three second-factor notices', () => {
      const found = mail.sink.mailsTo(email).map((received) => received.parsed).filter((parsed) => parsed.subject?.includes('zweiter Faktor'));
      return found.length >= 3 ? found : undefined;
    });
    expect(notices.map((notice) => notice.subject)).to.have.members([
      'Ihrem Konto wurde ein zweiter Faktor hinzugefügt',
      'Ein zweiter Faktor wurde aus Ihrem Konto entfernt',
      'Ein zweiter Faktor wurde aus Ihrem Konto entfernt',
    ]);
    const texts = notices.map((notice) => notice.text ?? '').join('\n');
    expect(texts).to.contain('Authenticator-App').and.contain('Wiederherstellungscodes');
    expect(texts).not.to.contain(secret);
    for (const code of activated.body.recovery_codes as string[]) expect(texts).not.to.contain(code);
    expect(texts).not.to.match(/https?:\/\//);
  });
});
