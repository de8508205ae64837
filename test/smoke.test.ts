import { expect } from 'chai';
import { loginUser, registerUser, request } from './support/http.js';

describe('smoke', () => {
  it('registers, logs in and reads /me', async () => {
    const user = await registerUser();
    const tokens = await loginUser(user.email, user.password);
    const me = await request('GET', '/me', { headers: { authorization: `Bearer ${tokens.token}` } });
    expect(me.status).to.equal(200);
    expect(me.body.id).to.equal(user.userId);
  });
});
