import { expect } from 'chai';
import type { ConsumeMessage } from 'amqplib';
import { signedInAdmin, signedInUser } from './support/admin.js';
import { sql } from './support/expectations.js';
import { request } from './support/http.js';
import { bindConsumer, createVhost, type TestConsumer, type TestVhost } from './support/relay-harness.js';
import { waitFor } from './support/wait-for.js';
import { removeTestKeys, testPrefix } from './support/redis-keys.js';
import { startWorkerRoles, type WorkerRoles } from './support/worker-roles.js';

function eventsOf(messages: ConsumeMessage[], userId: string): Array<{ type: string; data: Record<string, unknown> }> {
  return messages.map((message) => JSON.parse(message.content.toString('utf8'))).filter((event) => event.user_id === userId);
}

describe('admin actions in the audit log and on the broker', function () {
  this.timeout(90_000);
  let vhost: TestVhost;
  let workers: WorkerRoles;
  let consumer: TestConsumer;
  const prefix = testPrefix('admin-audit');

  before(async () => {
    vhost = await createVhost('us_admin');
    workers = await startWorkerRoles({ WORKER_QUEUES: 'relay,audit', RABBITMQ_URL: vhost.url, QUEUE_PREFIX: prefix });
    // The relay declares the exchange once it leads.
    consumer = await waitFor('the relay to declare user.events', () => bindConsumer(vhost.url).catch(() => undefined), 30_000, 200);
  });

  after(async () => {
    await consumer?.close();
    await workers?.stop();
    await removeTestKeys(prefix);
    await vhost?.remove();
  });

  it('records each admin action with the admin as actor, and publishes its event', async () => {
    const admin = await signedInAdmin();
    const user = await signedInUser();
    const as = { headers: admin.auth };
    expect((await request('PUT', `/admin/users/${user.userId}/roles/support`, as)).status).to.equal(200);
    expect((await request('DELETE', `/admin/users/${user.userId}/roles/support`, as)).status).to.equal(200);
    expect((await request('POST', `/admin/users/${user.userId}/status`, { ...as, json: { status: 'disabled', reason: 'support_request' } })).status).to.equal(200);
    await sql(
      "INSERT INTO mfa_methods (user_id, type, label, credential_id, webauthn_pub, sign_count, user_handle) VALUES ($1, 'webauthn', 'key', $2, 'cHVibGljLWtleQ', 0, 'aGFuZGxl')",
      [user.userId, crypto.randomUUID()],
    );
    expect((await request('DELETE', `/admin/users/${user.userId}/mfa`, as)).status).to.equal(200);
    expect((await request('POST', `/admin/users/${user.userId}/status`, { ...as, json: { status: 'active' } })).status).to.equal(200);
    expect((await request('POST', '/login', { json: { email: user.email, password: user.password } })).status).to.equal(200);
    expect((await request('POST', `/admin/users/${user.userId}/sessions/revoke`, as)).status).to.equal(200);
    expect((await request('DELETE', `/admin/users/${user.userId}`, as)).status).to.equal(204);

    const expected = ['role.grant', 'role.revoke', 'user.status_changed', 'session.revoke', 'mfa.disable', 'user.status_changed', 'session.revoke', 'user.delete'];
    const rows = await waitFor('the audit rows of the admin actions', async () => {
      const found = await sql('SELECT action, actor_id, metadata FROM audit_logs WHERE user_id = $1 AND actor_id = $2 ORDER BY created_at, id', [user.userId, admin.userId]);
      return found.length >= expected.length ? found : undefined;
    });
    expect(rows.map((row: { action: string }) => row.action)).to.have.members(expected);
    expect(rows.find((row: { action: string }) => row.action === 'user.status_changed').metadata).to.include({ status: 'disabled', previous_status: 'active', reason: 'support_request' });

    const published = await waitFor('the events on the broker', () => {
      const events = eventsOf(consumer.messages, user.userId).filter((event) => event.data.actor_id === admin.userId);
      return events.length >= expected.length ? events : undefined;
    });
    expect(published.map((event) => event.type)).to.include.members(['RoleGranted', 'RoleRevoked', 'UserStatusChanged', 'SessionRevoked', 'MfaDisabled', 'UserDeleted']);
    expect(published.find((event) => event.type === 'SessionRevoked')!.data).to.include({ reason: 'admin' });
  });
});
