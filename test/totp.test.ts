import { expect } from 'chai';
import { matchTotpCode, newTotpSecret, TOTP_PERIOD_SECONDS, totpCodeAt, totpUri } from '../shared/crypto/totp.js';
import { oathtoolCode } from './support/oathtool.js';

/** RFC 6238 Appendix B, SHA-1 (the algorithm authenticator apps use): time, 8-digit code. */
const RFC_6238_SHA1: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];
const RFC_SECRET = new TextEncoder().encode('12345678901234567890');

const oathtool = (secret: string, epochSeconds: number) => oathtoolCode(secret, { epochSeconds });

describe('TOTP (shared/crypto/totp.ts)', () => {
  it('matches the RFC 6238 Appendix B SHA-1 vectors (their last 6 digits) at their times', async () => {
    for (const [time, code] of RFC_6238_SHA1) {
      expect(await totpCodeAt(RFC_SECRET, time), `T=${time}`).to.equal(code.slice(2));
      expect(await matchTotpCode(RFC_SECRET, code.slice(2), { epochSeconds: time }), `T=${time}`).to.equal(Math.floor(time / TOTP_PERIOD_SECONDS));
    }
  });

  it('accepts oathtool codes of the current step and one step either way, and nothing further', async () => {
    const secret = newTotpSecret();
    const now = 1_800_000_015;
    const step = Math.floor(now / TOTP_PERIOD_SECONDS);
    for (const offset of [-1, 0, 1]) {
      const code = await oathtool(secret, now + offset * TOTP_PERIOD_SECONDS);
      expect(await matchTotpCode(secret, code, { epochSeconds: now }), `offset ${offset}`).to.equal(step + offset);
    }
    for (const offset of [-2, 2]) {
      expect(await matchTotpCode(secret, await oathtool(secret, now + offset * TOTP_PERIOD_SECONDS), { epochSeconds: now }), `offset ${offset}`).to.equal(undefined);
    }
  });

  it('refuses the step it accepted last and every earlier one (the replay rule)', async () => {
    const secret = newTotpSecret();
    const now = 1_800_000_015;
    const step = Math.floor(now / TOTP_PERIOD_SECONDS);
    const code = await oathtool(secret, now);
    expect(await matchTotpCode(secret, code, { epochSeconds: now, afterStep: step })).to.equal(undefined);
    expect(await matchTotpCode(secret, await oathtool(secret, now - TOTP_PERIOD_SECONDS), { epochSeconds: now, afterStep: step - 1 })).to.equal(undefined);
    expect(await matchTotpCode(secret, await oathtool(secret, now + TOTP_PERIOD_SECONDS), { epochSeconds: now, afterStep: step })).to.equal(step + 1);
  });

  it('refuses what is not six digits, and builds the otpauth URI apps scan', async () => {
    const secret = newTotpSecret();
    expect(secret).to.match(/^[A-Z2-7]{32}$/);
    for (const code of ['', '12345', '1234567', '12 3456', 'abcdef', '１２３４５６']) expect(await matchTotpCode(secret, code), JSON.stringify(code)).to.equal(undefined);
    const uri = new URL(totpUri(secret, 'user-services', 'ada@example.com'));
    expect(uri.protocol).to.equal('otpauth:');
    expect(uri.host).to.equal('totp');
    expect(decodeURIComponent(uri.pathname)).to.equal('/user-services:ada@example.com');
    expect(uri.searchParams.get('secret')).to.equal(secret);
    expect(uri.searchParams.get('issuer')).to.equal('user-services');
  });
});
