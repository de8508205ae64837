import crypto from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { expect } from 'chai';
import { withTransaction } from '../shared/db/pool.js';
import { deleteAuditLogsOlderThan } from '../shared/db/queries/audit-logs.js';
import { insertOutboxEvent } from '../shared/db/queries/outbox.js';
import { insertReactions } from '../shared/db/queries/reactions.js';
import { createEvent, InvalidEventError } from '../shared/events/create-event.js';
import type { DomainEvent } from '../shared/events/event-schemas.js';
import { EVENT_TYPES } from '../shared/events/event-types.js';
import type { Component } from '../shared/process/boot.js';
import { createQueueSet, type QueueSet } from '../shared/queues/queue-set.js';
import { performReaction } from '../shared/queues/perform-reaction.js';
import { enqueueReaction, type Queues } from '../shared/queues/queues.js';
import { AUDIT_ACTIONS } from '../workers/audit/audit-actions.js';
import { startAuditWorker } from '../workers/audit/start-audit-worker.js';
import { writeAuditLog } from '../workers/audit/write-audit-log.js';
import { parseJobPayload } from '../workers/create-worker.js';
import { settleBatch } from '../workers/relay/settle-batch.js';
import { loadLoginFeatures } from '../shared/domain/anomaly/login-features.js';
import { scoreLoginAttempt } from '../shared/domain/anomaly/score-login-attempt.js';
import { removeTestKeys, testPrefix } from './support/redis-keys.js';
import { testApp } from './support/hooks.js';
import { registerUser, request } from './support/http.js';
import { waitFor } from './support/wait-for.js';
import { claimedRowsOf } from './support/mail-harness.js';

interface AuditRow {
  id: string;
  event_id: string | null;
  user_id: string | null;
  actor_id: string | null;
  action: string;
  ip: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
}

const pool = () => testApp().services.pool;

async function auditRowsOf(userId: string): Promise<AuditRow[]> {
  const { rows } = await pool().query<AuditRow>(
    `SELECT id, event_id, user_id, actor_id, action, host(ip_addr) AS ip, metadata, created_at
       FROM audit_logs WHERE user_id = $1 ORDER BY created_at, id`,
    [userId],
  );
  return rows;
}

async function outboxEventsOf(userId: string): Promise<DomainEvent[]> {
  const { rows } = await pool().query<{ payload: DomainEvent }>('SELECT payload FROM outbox WHERE aggregate_id = $1 ORDER BY id', [userId]);
  return rows.map((row) => row.payload);
}

/** Inserts an audit row directly (INSERT is allowed), dated `daysAgo` days back. */
async function insertAuditRow(userId: string, daysAgo: number): Promise<string> {
  const { rows } = await pool().query<{ id: string }>(
    `INSERT INTO audit_logs (user_id, action, created_at, event_id)
     VALUES ($1, 'test.row', now() - make_interval(days => $2), gen_random_uuid()) RETURNING id`,
    [userId, daysAgo],
  );
  return rows[0]!.id;
}

describe('audit', () => {
  describe('audit worker through BullMQ', () => {
    let queues: Queues;
    let queueSet: QueueSet;
    let worker: Component;
    const prefix = testPrefix('audit-test');

    before(async () => {
      const services = testApp().services;
      const config = { ...services.config, queuePrefix: prefix };
      queueSet = createQueueSet(config, services.log, 'consumer');
      ({ queues } = queueSet);
      worker = await startAuditWorker({ ...services, config, queueSet });
    });

    after(async () => {
      await worker?.stop();
      await queueSet.close();
      await removeTestKeys(prefix);
    });

    it('writes one row per event for register, login and a failed login, as the relay would enqueue them', async () => {
      const user = await registerUser();
      const login = await request('POST', '/login', { json: { email: user.email, password: user.password } });
      expect(login.status).to.equal(200);
      const failed = await request('POST', '/login', { json: { email: user.email, password: `${user.password}-wrong` } });
      expect(failed.status).to.equal(401);

      const events = await outboxEventsOf(user.userId);
      expect(events.map((event) => event.type)).to.have.members(['UserRegistered', 'LoginSucceeded', 'LoginFailed']);
      // What the relay does: the reaction row first, then the job with its deterministic id.
      await insertReactions(pool(), events.map((event) => ({ event_id: event.event_id, job_name: 'write-audit-log' as const, payload: event })));
      for (const event of events) await enqueueReaction(queues, 'write-audit-log', event);

      const rows = await waitFor('three audit rows', async () => {
        const found = await auditRowsOf(user.userId);
        return found.length >= 3 ? found : undefined;
      });
      expect(rows).to.have.length(3);
      const byAction = Object.fromEntries(rows.map((row) => [row.action, row]));
      expect(Object.keys(byAction)).to.have.members(['user.register', 'user.login', 'user.login_failed']);
      for (const event of events) {
        const row = rows.find((candidate) => candidate.event_id === event.event_id);
        expect(row, `row of ${event.type}`).to.not.equal(undefined);
        expect(row!.created_at.toISOString()).to.equal(new Date(event.occurred_at).toISOString());
      }

      expect(byAction['user.register']!.actor_id).to.equal(user.userId);
      expect(byAction['user.login']!.actor_id).to.equal(user.userId);
      expect(byAction['user.login_failed']!.actor_id).to.equal(null);
      expect(byAction['user.login']!.ip).to.equal('127.0.0.1');
      expect(byAction['user.login_failed']!.ip).to.equal('127.0.0.1');
      expect(byAction['user.login_failed']!.metadata).to.include({ reason: 'invalid_password' });
      expect(byAction['user.login']!.metadata).to.have.property('session_id');

      const everything = JSON.stringify(rows);
      expect(everything).to.not.include(user.email);
      expect(everything).to.not.include(user.password);
      for (const row of rows) expect(JSON.stringify(row.metadata)).to.not.include('@');

      const { rows: reactions } = await pool().query<{ completed_at: Date | null }>(
        `SELECT completed_at FROM reactions WHERE job_name = 'write-audit-log' AND event_id = ANY($1::uuid[])`,
        [events.map((event) => event.event_id)],
      );
      expect(reactions).to.have.length(3);
      for (const reaction of reactions) expect(reaction.completed_at).to.be.instanceOf(Date);
    });
  });

  describe('audit rows written by the relay when it marks an event published', () => {
    async function reactionsOf(eventIds: string[]) {
      const { rows } = await pool().query<{ event_id: string; job_name: string; enqueued_at: Date | null; completed_at: Date | null }>(
        'SELECT event_id, job_name, enqueued_at, completed_at FROM reactions WHERE event_id = ANY($1::uuid[]) ORDER BY event_id, job_name',
        [eventIds],
      );
      return rows;
    }

    it('writes the same rows the audit worker writes, scores plain sign-ins, completes those reactions, and leaves only the others to be enqueued', async () => {
      const user = await registerUser();
      expect((await request('POST', '/login', { json: { email: user.email, password: user.password } })).status).to.equal(200);
      expect((await request('POST', '/login', { json: { email: user.email, password: `${user.password}-wrong` } })).status).to.equal(401);
      const claimed = await claimedRowsOf(user.userId);
      expect(claimed.map((row) => row.type)).to.have.members(['UserRegistered', 'LoginSucceeded', 'LoginFailed']);

      const settled = await settleBatch(pool(), { confirmed: claimed, failures: [] }, { maxAttempts: 5, anomaly: testApp().services.config.anomaly });
      // The audit rows and the plain scores are done; only the mail is left to its queue.
      expect(settled.reactions.map((reaction) => reaction.job_name)).to.deep.equal(['send-verification-mail']);
      const reactions = await reactionsOf(claimed.map((row) => row.event_id));
      const done = reactions.filter((reaction) => reaction.job_name === 'write-audit-log' || reaction.job_name === 'score-login');
      expect(done).to.have.length(5);
      for (const reaction of done) {
        expect(reaction.completed_at).to.be.instanceOf(Date);
        expect(reaction.enqueued_at).to.equal(null);
      }
      expect(reactions.find((r) => r.job_name === 'send-verification-mail')!.completed_at).to.equal(null);
      // Each attempt holds the score the anomaly worker would have given it.
      const { rows: attempts } = await pool().query<{ id: string; success: boolean; risk_score: number | null; risk_reasons: unknown; scored_at: Date | null }>(
        'SELECT id::text, success, risk_score, risk_reasons, scored_at FROM login_attempts WHERE user_id = $1',
        [user.userId],
      );
      expect(attempts).to.have.length(2);
      for (const attempt of attempts) {
        const features = await loadLoginFeatures(pool(), testApp().services.config.anomaly, attempt.id);
        const expected = scoreLoginAttempt(features!.features, { dormantDays: testApp().services.config.anomaly.dormantDays });
        expect(attempt.scored_at).to.be.instanceOf(Date);
        expect({ score: attempt.risk_score, reasons: attempt.risk_reasons }).to.deep.equal(expected);
      }

      const rows = await auditRowsOf(user.userId);
      expect(rows).to.have.length(3);
      // What the worker would have written for the same events, row for row.
      const events = claimed.map((row) => JSON.parse(row.body) as DomainEvent);
      const byWorker = crypto.randomUUID();
      for (const event of events) await writeAuditLog(pool(), { ...event, event_id: crypto.randomUUID(), user_id: byWorker });
      const workerRows = await auditRowsOf(byWorker);
      const shape = (row: AuditRow) => ({ action: row.action, actor: row.actor_id === null ? null : 'user', ip: row.ip, metadata: row.metadata });
      expect(rows.map(shape)).to.have.deep.members(workerRows.map(shape));
      expect(rows.find((row) => row.action === 'user.login')!.ip).to.equal('127.0.0.1');
      for (const event of events) {
        const row = rows.find((candidate) => candidate.event_id === event.event_id)!;
        expect(row.created_at.toISOString()).to.equal(new Date(event.occurred_at).toISOString());
      }
    });

    it('leaves the reactions of an event its jobs would refuse to those jobs, and claims and marks the rest of the batch', async () => {
      const userId = crypto.randomUUID();
      const good = createEvent('ProfileUpdated', userId, { fields: 'display_name' });
      const bad = createEvent('ProfileUpdated', userId, { fields: 'display_name' });
      const badLogin = createEvent('LoginSucceeded', userId, { session_id: crypto.randomUUID(), attempt_id: '1' });
      for (const event of [good, bad, badLogin]) await insertOutboxEvent(pool(), event);
      // Written some other way (an older release, a hand-made row): data the schema refuses.
      await pool().query(`UPDATE outbox SET payload = jsonb_set(payload, '{data,fields}', '42') WHERE event_id = $1`, [bad.event_id]);
      // An attempt id that is no number: the claim reading its features must not fail the batch.
      await pool().query(`UPDATE outbox SET payload = jsonb_set(payload, '{data,attempt_id}', '"1; DROP"') WHERE event_id = $1`, [badLogin.event_id]);
      const claimed = await claimedRowsOf(userId);
      expect(claimed.find((row) => row.event_id === badLogin.event_id)!.features).to.equal(null);
      const settled = await settleBatch(pool(), { confirmed: claimed, failures: [] }, { maxAttempts: 5, anomaly: testApp().services.config.anomaly });
      expect(settled.reactions.map((reaction) => [reaction.event_id, reaction.job_name])).to.have.deep.members([
        [bad.event_id, 'write-audit-log'],
        [badLogin.event_id, 'score-login'],
        [badLogin.event_id, 'write-audit-log'],
      ]);
      expect((await auditRowsOf(userId)).map((row) => row.event_id)).to.deep.equal([good.event_id]);
      const { rows } = await pool().query('SELECT event_id FROM outbox WHERE aggregate_id = $1 AND published_at IS NOT NULL', [userId]);
      expect(rows).to.have.length(3);
    });

    it('writes one row per event when the event is published twice, and none when its reactions were recorded before the mark', async () => {
      const userId = crypto.randomUUID();
      const twice = createEvent('PasswordChanged', userId, { reason: 'change', sessions_revoked: 0 });
      const swept = createEvent('ProfileUpdated', userId, { fields: 'display_name' });
      for (const event of [twice, swept]) await insertOutboxEvent(pool(), event);
      // The sweeper recorded swept's reactions while the broker was away: its audit job is queued, so the mark must not write its row.
      await insertReactions(pool(), [{ event_id: swept.event_id, job_name: 'write-audit-log', payload: swept }]);
      await pool().query('UPDATE outbox SET reactions_at = now() WHERE event_id = $1', [swept.event_id]);
      const claimed = await claimedRowsOf(userId);

      const first = await settleBatch(pool(), { confirmed: claimed, failures: [] }, { maxAttempts: 5, anomaly: testApp().services.config.anomaly });
      expect(first.reactions.map((reaction) => reaction.job_name)).to.deep.equal(['send-password-changed-mail']);
      // Published again (a lost commit, a replay): the mark finds the row published and adds nothing.
      await pool().query('UPDATE outbox SET published_at = NULL WHERE event_id = $1', [twice.event_id]);
      const second = await settleBatch(pool(), { confirmed: claimed, failures: [] }, { maxAttempts: 5, anomaly: testApp().services.config.anomaly });
      expect(second.reactions).to.deep.equal([]);
      expect((await auditRowsOf(userId)).map((row) => row.event_id)).to.deep.equal([twice.event_id]);

      // The swept event's row comes from its job, once.
      expect(await writeAuditLog(pool(), swept)).to.equal('done');
      expect(await writeAuditLog(pool(), swept)).to.equal('already-done');
      expect((await auditRowsOf(userId)).map((row) => row.event_id).sort()).to.deep.equal([twice.event_id, swept.event_id].sort());
    });
  });

  describe('write-audit-log processor', () => {
    it('processes the same event twice into one row, even after its reaction row is gone', async () => {
      const userId = crypto.randomUUID();
      const event = createEvent('PasswordChanged', userId, { reason: 'change', sessions_revoked: 0 });
      expect(await writeAuditLog(pool(), event)).to.equal('done');
      expect(await writeAuditLog(pool(), event)).to.equal('already-done');
      // The reaction purged (or never recorded): the unique event_id still holds.
      await pool().query('DELETE FROM reactions WHERE event_id = $1', [event.event_id]);
      expect(await writeAuditLog(pool(), event)).to.equal('done');
      const rows = await auditRowsOf(userId);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ action: 'user.password_changed', actor_id: userId, event_id: event.event_id });
    });

    it('acts once when two deliveries of one reaction run at once, and again after a failed attempt rolled back its claim', async () => {
      const event = createEvent('PasswordChanged', crypto.randomUUID(), { reason: 'change', sessions_revoked: 0 });
      let acted = 0;
      const act = async () => {
        acted++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      };
      const failed = await performReaction(pool(), 'write-audit-log', event, () => Promise.reject(new Error('SMTP away'))).catch((error: Error) => error.message);
      expect(failed).to.equal('SMTP away');
      const outcomes = await Promise.all([performReaction(pool(), 'write-audit-log', event, act), performReaction(pool(), 'write-audit-log', event, act)]);
      expect(outcomes.sort()).to.deep.equal(['already-done', 'done']);
      expect(acted).to.equal(1);
    });

    it('never keeps an email address, a token or a secret: refused at creation, dropped when read', async () => {
      const userId = crypto.randomUUID();
      const sessionId = crypto.randomUUID();
      const leaky = { session_id: sessionId, reason: 'logout', email: 'owner@example.com', token: 'abc123', password_hash: '$argon2id$...' };
      expect(() => createEvent('SessionRevoked', userId, leaky as unknown as { session_id: string; reason: 'logout' }))
        .to.throw(InvalidEventError)
        .with.property('message', 'invalid SessionRevoked event: data: Unrecognized keys: "email", "token", "password_hash"');
      // A payload written some other way (an older release, a hand-made replay): the job's parse drops what it does not know.
      const stored = { ...createEvent('SessionRevoked', userId, { session_id: sessionId, reason: 'logout' }), data: leaky };
      await writeAuditLog(pool(), parseJobPayload('write-audit-log', stored));
      const [row] = await auditRowsOf(userId);
      expect(row!.action).to.equal('session.revoke');
      expect(row!.metadata).to.deep.equal({ session_id: sessionId, reason: 'logout' });
      expect(JSON.stringify(row)).to.not.match(/@|abc123|argon2/);
    });

    it('takes the actor from data.actor_id, and null for system actions', async () => {
      const userId = crypto.randomUUID();
      const admin = crypto.randomUUID();
      await writeAuditLog(pool(), createEvent('RoleGranted', userId, { role: 'admin', actor_id: admin }));
      await writeAuditLog(pool(), createEvent('UserLocked', userId, { reason: 'failure_burst', until: new Date().toISOString() }));
      const rows = await auditRowsOf(userId);
      expect(rows.map((row) => [row.action, row.actor_id])).to.have.deep.members([
        ['role.grant', admin],
        ['user.locked', null],
      ]);
    });

    it('maps every event type to a distinct action', () => {
      const actions = EVENT_TYPES.map((type) => AUDIT_ACTIONS[type].action);
      expect(actions.every((action) => /^[a-z]+\.[a-z_]+$/.test(action))).to.equal(true);
      expect(new Set(actions).size).to.equal(EVENT_TYPES.length);
    });

    it('fails its job at once (unrecoverable), naming the fields, on a payload that is not an event', () => {
      const bad = { event_id: 'nope', type: 'UserRegistered', occurred_at: 'yesterday', user_id: 'x', data: {} };
      expect(() => parseJobPayload('write-audit-log', bad))
        .to.throw(UnrecoverableError)
        .with.property('message')
        .that.matches(/^write-audit-log: the payload is not an event this job takes \(event_id: Invalid UUID; occurred_at: Invalid ISO datetime; user_id: Invalid UUID; data.locale: /);
      const unknownType = { ...createEvent('UserRegistered', crypto.randomUUID(), { locale: 'en' }), type: 'UserTeleported' };
      expect(() => parseJobPayload('write-audit-log', unknownType))
        .to.throw(UnrecoverableError)
        .with.property('message')
        .that.includes('type: Invalid discriminator value');
    });
  });

  describe('append-only trigger', () => {
    it('refuses UPDATE even for the owner and a superuser, even in replica mode', async () => {
      const userId = crypto.randomUUID();
      const id = await insertAuditRow(userId, 0);
      const { rows: who } = await pool().query<{ superuser: string; owner: boolean }>(
        `SELECT current_setting('is_superuser') AS superuser,
                (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_logs') = current_user AS owner`,
      );
      expect(who[0]).to.deep.equal({ superuser: 'on', owner: true });

      const attempt = (sql: string) => pool().query(sql, [id]).then(() => 'allowed', (error: Error) => error.message);
      expect(await attempt(`UPDATE audit_logs SET action = 'forged' WHERE id = $1`)).to.match(/append-only: UPDATE/);
      // A statement trigger: even an UPDATE that matches nothing is refused.
      expect(await attempt(`UPDATE audit_logs SET action = 'forged' WHERE id = $1 AND false`)).to.match(/append-only: UPDATE/);
      const replica = await withTransaction(pool(), async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        return tx.query(`UPDATE audit_logs SET action = 'forged' WHERE id = $1`, [id]).then(() => 'allowed', (error: Error) => error.message);
      }).catch((error: Error) => error.message);
      expect(replica).to.match(/append-only: UPDATE/);
      expect(await pool().query('TRUNCATE audit_logs').then(() => 'allowed', (error: Error) => error.message)).to.match(/append-only: TRUNCATE/);

      const [row] = await auditRowsOf(userId);
      expect(row!.action).to.equal('test.row');
    });

    it('refuses DELETE of a fresh row, and of any row without the declared retention', async () => {
      const userId = crypto.randomUUID();
      const fresh = await insertAuditRow(userId, 1);
      const old = await insertAuditRow(userId, 400);
      const refusal = (error: Error) => error.message;

      expect(await pool().query('DELETE FROM audit_logs WHERE id = $1', [old]).then(() => 'allowed', refusal)).to.match(/retention purge/);
      const freshWithRetention = await withTransaction(pool(), async (tx) => {
        await tx.query("SELECT set_config('user_services.audit_retention_days', '365', true)");
        await tx.query('DELETE FROM audit_logs WHERE id = $1', [fresh]);
        return 'allowed';
      }).catch(refusal);
      expect(freshWithRetention).to.match(/younger than the retention/);
      const zeroRetention = await withTransaction(pool(), async (tx) => {
        await tx.query("SELECT set_config('user_services.audit_retention_days', '0', true)");
        await tx.query('DELETE FROM audit_logs WHERE id = $1', [fresh]);
        return 'allowed';
      }).catch(refusal);
      expect(zeroRetention).to.match(/retention purge/);
      expect((await auditRowsOf(userId)).map((row) => row.id)).to.have.members([fresh, old]);
    });

    it('lets the retention purge delete only rows older than the retention', async () => {
      const userId = crypto.randomUUID();
      const keep = [await insertAuditRow(userId, 0), await insertAuditRow(userId, 364)];
      await insertAuditRow(userId, 366);
      await insertAuditRow(userId, 1_000);
      let removed = 0;
      for (let batch = 1; batch > 0; removed += batch) {
        batch = await withTransaction(pool(), (tx) => deleteAuditLogsOlderThan(tx, 365, 1));
      }
      expect(removed).to.be.at.least(2);
      expect((await auditRowsOf(userId)).map((row) => row.id)).to.have.members(keep);
    });
  });
});
