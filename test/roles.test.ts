import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { adminCli } from './support/admin-cli.js';
import { sql } from './support/expectations.js';
import { loginUser, randomEmail, registerUser, request } from './support/http.js';

function rolesClaim(token: string): unknown {
  return (jwt.decode(token) as { roles?: unknown }).roles;
}

describe('roles', function () {
  this.timeout(60_000);

  it('grant-role and revoke-role from the command line: RoleGranted / RoleRevoked, the token claim and GET /me follow', async () => {
    const { email, password, userId } = await registerUser();
    const before = await loginUser(email, password);
    expect(rolesClaim(before.token)).to.deep.equal([]);

    const granted = await adminCli('grant-role', email, 'admin');
    expect(granted.code, granted.stderr).to.equal(0);
    expect(granted.stdout).to.contain(`${email} now has the role admin`);
    expect((await adminCli('grant-role', email, 'admin')).stdout).to.contain('already had the role admin');

    const after = await loginUser(email, password);
    expect(rolesClaim(after.token)).to.deep.equal(['admin']);
    const me = await request('GET', '/me', { headers: { authorization: `Bearer ${before.token}` } });
    expect(me.body.roles).to.deep.equal(['admin']);
    const refreshed = await request('POST', '/token/refresh', { json: { refresh_token: after.refresh_token } });
    expect(rolesClaim(refreshed.body.token)).to.deep.equal(['admin']);

    const listed = await adminCli('list-admins');
    expect(listed.stdout).to.contain(email).and.contain(userId);

    const revoked = await adminCli('revoke-role', email, 'admin');
    expect(revoked.code).to.equal(0);
    expect(revoked.stdout).to.contain(`${email} no longer has the role admin`);
    expect((await adminCli('list-admins')).stdout).not.to.contain(email);

    const events = await sql("SELECT type, payload->'data' AS data FROM outbox WHERE aggregate_id = $1 AND type LIKE 'Role%' ORDER BY id", [userId]);
    expect(events).to.deep.equal([
      { type: 'RoleGranted', data: { role: 'admin' } },
      { type: 'RoleRevoked', data: { role: 'admin' } },
    ]);
  });

  it('names an unknown address and a bad role name, with a non-zero exit', async () => {
    const unknown = randomEmail();
    const missing = await adminCli('grant-role', unknown, 'admin');
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain(`no account has the address ${unknown}`);
    expect((await adminCli('revoke-role', unknown, 'admin')).code).to.equal(1);
    const badRole = await adminCli('grant-role', unknown, 'Admin Role');
    expect(badRole.code).to.equal(2);
    expect(badRole.stderr).to.contain('is not a role name');
    const usage = await adminCli('grant-role');
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.contain('usage: npm run admin');
  });
});
