import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config } from '../shared/config/config.js';
import { createEvent } from '../shared/events/create-event.js';
import type { Component } from '../shared/process/boot.js';
import { runMaintenance, type MaintenanceSettings } from '../workers/maintenance/run-maintenance.js';
import { drain, nextBatchSize } from '../workers/maintenance/purge-batches.js';
import { KEY_ROTATION_CRON, KEY_ROTATION_QUEUE } from '../workers/maintenance/key-rotation.js';
import { MAINTENANCE_QUEUE, startMaintenance } from '../workers/maintenance/start-maintenance.js';
import { testApp } from './support/hooks.js';
import { testEnv } from './support/test-app.js';

const pool = () => testApp().services.pool;
const silent = pino({ level: 'silent' });

async function insertUser(): Promise<string> {
  const email = `maint-${crypto.randomBytes(6).toString('hex')}@example.com`;
  const { rows } = await pool().query<{ id: string }>("INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id", [email]);
  return rows[0]!.id;
}

/** Runs one statement returning ids, dated relative to now by SQL intervals in the statement. */
async function ids(sql: string, values: unknown[]): Promise<string[]> {
  const { rows } = await pool().query<{ id: string }>(sql, values);
  return rows.map((row) => row.id);
}

async function existing(table: string, idList: string[]): Promise<string[]> {
  const { rows } = await pool().query<{ id: string }>(`SELECT id::text FROM ${pg.escapeIdentifier(table)} WHERE id::text = ANY($1)`, [idList]);
  return rows.map((row) => row.id).sort();
}

/** An outbox row; its reactions count as recorded when it was published, unless `reactions` says otherwise. */
async function insertOutbox(userId: string, published: string | null, created = 'now()', failed = 'NULL', reactions = published): Promise<string> {
  const event = createEvent('ProfileUpdated', userId, { fields: 'display_name' });
  const [id] = await ids(
    `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, created_at, published_at, failed_at, reactions_at)
     VALUES ($1, $2, 'user.events', $3, $4, ${created}, ${published ?? 'NULL'}, ${failed}, ${reactions ?? 'NULL'}) RETURNING id`,
    [event.event_id, userId, event.type, JSON.stringify(event)],
  );
  return id!;
}

function settings(batchSize: number): MaintenanceSettings {
  return { retention: testApp().services.config.retention, batches: { maxRows: batchSize, statementMs: 50 } };
}

describe('maintenance', () => {
  it('purges expired tokens, ended sessions, old published outbox rows, completed reactions, attempts and audit rows, in batches', async () => {
    const { retention } = testApp().services.config;
    expect(retention).to.deep.equal({ sessionDays: 30, outboxDays: 7, reactionDays: 7, loginAttemptDays: 90, auditDays: 365 });
    // Clear what earlier suites left eligible, so the counts below are exactly ours.
    await runMaintenance(pool(), settings(1_000), silent);
    const userId = await insertUser();

    const resetsGone = await ids(
      `INSERT INTO password_resets (user_id, token_hash, expires_at, consumed_at) VALUES
         ($1, md5(random()::text), now() - interval '1 minute', NULL),
         ($1, md5(random()::text), now() + interval '10 minutes', now()) RETURNING id`,
      [userId],
    );
    const resetsKept = await ids(
      `INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES ($1, md5(random()::text), now() + interval '10 minutes') RETURNING id`,
      [userId],
    );
    const securityGone = await ids(
      `INSERT INTO security_tokens (user_id, purpose, token_hash, expires_at) VALUES ($1, 'not_me', md5(random()::text), now() - interval '1 second') RETURNING id`,
      [userId],
    );
    const sessionsGone = await ids(
      `INSERT INTO sessions (user_id, expires_at, revoked_at) VALUES
         ($1, now() - interval '40 days', NULL),
         ($1, now() + interval '1 day', now() - interval '31 days') RETURNING id`,
      [userId],
    );
    const sessionsKept = await ids(
      `INSERT INTO sessions (user_id, expires_at, revoked_at) VALUES
         ($1, now() - interval '10 days', NULL),
         ($1, now() + interval '1 day', now() - interval '1 day'),
         ($1, now() + interval '1 day', NULL) RETURNING id`,
      [userId],
    );
    const tokensGone = await ids(
      `INSERT INTO refresh_tokens (session_id, token_hash, expires_at)
       SELECT s, md5(random()::text), now() FROM unnest($1::uuid[]) s, generate_series(1, 2) RETURNING id`,
      [sessionsGone],
    );
    const tokensKept = await ids(
      `INSERT INTO refresh_tokens (session_id, token_hash, expires_at) SELECT s, md5(random()::text), now() FROM unnest($1::uuid[]) s RETURNING id`,
      [sessionsKept],
    );
    const outboxGone = [await insertOutbox(userId, "now() - interval '8 days'", "now() - interval '8 days'")];
    const outboxKept = [
      await insertOutbox(userId, "now() - interval '1 day'"),
      // Never published (set aside after failures): kept however old.
      await insertOutbox(userId, null, "now() - interval '30 days'", "now() - interval '30 days'"),
      // Published long ago, but its reactions are not recorded yet: the relay still needs it.
      await insertOutbox(userId, "now() - interval '8 days'", "now() - interval '8 days'", 'NULL', null),
    ];
    const reactionEvents = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await pool().query(
      `INSERT INTO reactions (event_id, job_name, payload, created_at, completed_at, given_up_at) VALUES
         ($1, 'write-audit-log', '{}', now() - interval '9 days', now() - interval '8 days', NULL),
         ($2, 'write-audit-log', '{}', now() - interval '2 days', now() - interval '1 day', NULL),
         ($3, 'write-audit-log', '{}', now() - interval '30 days', NULL, NULL),
         -- Given up long ago (marked completed too): kept until an operator replays it.
         ($4, 'write-audit-log', '{}', now() - interval '30 days', now() - interval '29 days', now() - interval '29 days')`,
      reactionEvents,
    );
    const attemptsGone = await ids(
      `INSERT INTO login_attempts (user_id, email, success, created_at)
       SELECT $1, 'x@example.com', false, now() - interval '91 days' FROM generate_series(1, 5) RETURNING id`,
      [userId],
    );
    const attemptsKept = await ids(
      `INSERT INTO login_attempts (user_id, email, success, created_at) VALUES ($1, 'x@example.com', true, now() - interval '89 days') RETURNING id`,
      [userId],
    );
    const auditGone = await ids(`INSERT INTO audit_logs (user_id, action, created_at) VALUES ($1, 'test.old', now() - interval '366 days') RETURNING id`, [userId]);
    const auditKept = await ids(`INSERT INTO audit_logs (user_id, action, created_at) VALUES ($1, 'test.recent', now() - interval '364 days') RETURNING id`, [userId]);

    const challengesGone = await ids(
      `INSERT INTO mfa_challenges (user_id, purpose, token_hash, expires_at) SELECT $1, 'login', md5(random()::text), now() - interval '2 hours' FROM generate_series(1, 3) RETURNING id`,
      [userId],
    );
    // Expired within the last hour: kept a while, so an answer racing its expiry finds it.
    const challengesKept = await ids(`INSERT INTO mfa_challenges (user_id, purpose, token_hash, expires_at) VALUES ($1, 'login', md5(random()::text), now() - interval '5 minutes') RETURNING id`, [userId]);

    // A guard that lapsed with no sign-in attempt since: announced by the run, not deleted.
    await pool().query(
      `INSERT INTO account_guards (user_id, reason, guarded_from, guarded_until) VALUES ($1, 'failure_burst', now() - interval '2 hours', now() - interval '1 hour')`,
      [userId],
    );

    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    // Batches of 2: every table with a backlog takes several statements.
    const report = await runMaintenance(pool(), settings(2), log);

    expect(report.failed).to.deep.equal([]);
    expect(report.removed).to.include({
      password_resets: 2,
      security_tokens: 1,
      sessions: 2,
      refresh_tokens: 4,
      outbox: 1,
      reactions: 1,
      login_attempts: 5,
      audit_logs: 1,
      mfa_challenges: 3,
    });
    const finished = lines.find((line) => line.msg === 'maintenance purge finished');
    expect(finished?.removed).to.deep.equal(report.removed);

    expect(await existing('password_resets', [...resetsGone, ...resetsKept])).to.deep.equal([...resetsKept].sort());
    expect(await existing('security_tokens', securityGone)).to.deep.equal([]);
    expect(await existing('sessions', [...sessionsGone, ...sessionsKept])).to.deep.equal([...sessionsKept].sort());
    expect(await existing('refresh_tokens', [...tokensGone, ...tokensKept])).to.deep.equal([...tokensKept].sort());
    expect(await existing('outbox', [...outboxGone, ...outboxKept])).to.deep.equal([...outboxKept].sort());
    const { rows: reactions } = await pool().query<{ event_id: string }>('SELECT event_id FROM reactions WHERE event_id = ANY($1::uuid[])', [reactionEvents]);
    expect(reactions.map((row) => row.event_id)).to.have.members(reactionEvents.slice(1));
    expect(await existing('login_attempts', [...attemptsGone, ...attemptsKept])).to.deep.equal(attemptsKept);
    expect(await existing('audit_logs', [...auditGone, ...auditKept])).to.deep.equal(auditKept);
    expect(await existing('mfa_challenges', [...challengesGone, ...challengesKept])).to.deep.equal(challengesKept);
    expect(report.removed.account_guards_released).to.be.at.least(1);
    const { rows: unlocked } = await pool().query(`SELECT payload FROM outbox WHERE aggregate_id = $1 AND type = 'UserUnlocked'`, [userId]);
    expect(unlocked.map((row) => row.payload.data.reason)).to.deep.equal(['guard_expired']);
    const { rows: guards } = await pool().query('SELECT released_at FROM account_guards WHERE user_id = $1', [userId]);
    expect(guards[0].released_at).to.be.instanceOf(Date);

    // Nothing is left to remove: a second run reports zeros.
    const again = await runMaintenance(pool(), settings(2), silent);
    expect(Object.values(again.removed).every((count) => count === 0)).to.equal(true);
    // Leave no unpublished row behind for a relay that a later suite may run.
    await pool().query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [outboxKept]);
  });

  it('sizes each purge statement to the time allowed: slower statements get fewer rows, within the row limit', async () => {
    const limits = { maxRows: 1_000, statementMs: 50 };
    // 100 rows in 200 ms (a cold disk): halved at most per step, never below 10.
    expect(nextBatchSize({ rows: 100, limit: 100, ms: 200 }, limits)).to.equal(50);
    expect(nextBatchSize({ rows: 10, limit: 10, ms: 5_000 }, limits)).to.equal(10);
    // 100 rows in 40 ms fit 125 in 50 ms; 100 rows in 1 ms double, up to the row limit.
    expect(nextBatchSize({ rows: 100, limit: 100, ms: 40 }, limits)).to.equal(125);
    expect(nextBatchSize({ rows: 800, limit: 800, ms: 1 }, limits)).to.equal(1_000);
    expect(nextBatchSize({ rows: 3, limit: 3, ms: 1 }, { maxRows: 4, statementMs: 50 })).to.equal(4);

    // drain asks for the first 100, follows the sizes, and stops at the first short batch.
    const asked: number[] = [];
    let left = 1_000;
    const removed = await drain(async (limit) => {
      asked.push(limit);
      const rows = Math.min(limit, left);
      left -= rows;
      return rows;
    }, limits);
    expect(removed).to.equal(1_000);
    expect(asked[0]).to.equal(100);
    expect(asked.slice(1).every((limit, i) => limit <= asked[i]! * 2 && limit <= 1_000)).to.equal(true);
    expect(left).to.equal(0);
  });

  it('reads retention and schedule settings, refusing bad ones with one message', () => {
    const config = loadConfig(testEnv('db', { AUDIT_RETENTION_DAYS: '30', MAINTENANCE_CRON: '*/5 * * * *', SESSION_RETENTION_DAYS: '0' }));
    expect(config.retention).to.include({ auditDays: 30, sessionDays: 0 });
    expect(config.maintenance).to.deep.equal({ cron: '*/5 * * * *', batches: { maxRows: 1_000, statementMs: 50 } });
    let caught: unknown;
    try {
      loadConfig(testEnv('db', { AUDIT_RETENTION_DAYS: '0', MAINTENANCE_CRON: 'every hour', OUTBOX_RETENTION_DAYS: 'week' }));
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).to.match(/AUDIT_RETENTION_DAYS/).and.match(/MAINTENANCE_CRON/).and.match(/OUTBOX_RETENTION_DAYS/);
  });

  describe('schedule with pg-boss', function () {
    this.timeout(120_000);
    const schema = `pgboss_test_${crypto.randomBytes(4).toString('hex')}`;
    const instances: Component[] = [];

    after(async () => {
      for (const instance of instances) await instance.stop();
      await pool().query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    });

    it('runs the scheduled purge once per tick, however many maintenance workers run', async () => {
      const base = testApp().services;
      // Every minute, so a tick is due at once; pg-boss's cron checks turned down to a second.
      const config: Config = { ...base.config, maintenance: { cron: '* * * * *', batches: { maxRows: 100, statementMs: 50 } } };
      const timing = { schema, cronMonitorIntervalSeconds: 1, cronWorkerIntervalSeconds: 1, pollingIntervalSeconds: 0.5 };
      // One minute holds one tick: start early enough in a minute that the run fits in it.
      const second = new Date().getUTCSeconds();
      if (second > 35) await new Promise((resolve) => setTimeout(resolve, (61 - second) * 1_000));

      const userId = await insertUser();
      const [expired] = await ids(
        `INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES ($1, md5(random()::text), now() - interval '1 minute') RETURNING id`,
        [userId],
      );
      const runs: number[] = [];
      const log = pino({ level: 'info' }, new Writable({
        write(chunk, _enc, done) {
          if ((JSON.parse(String(chunk)) as { msg?: string }).msg === 'maintenance purge finished') runs.push(Date.now());
          done();
        },
      }));
      const startedAt = Date.now();
      instances.push(...(await Promise.all([0, 1].map(() => startMaintenance({ config, log, pool: base.pool }, timing)))));

      const deadline = Date.now() + 60_000;
      while (runs.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(runs.length, 'a scheduled run').to.be.at.least(1);
      expect(await existing('password_resets', [expired!])).to.deep.equal([]);
      // Both instances keep polling a while: a second run of the same tick would show here.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const minutesSpanned = Math.floor(Date.now() / 60_000) - Math.floor(startedAt / 60_000) + 1;
      expect(runs.length, `runs within ${minutesSpanned} minute(s)`).to.be.within(1, minutesSpanned);

      const boss = new PgBoss({ connectionString: base.config.database.url, schema, max: 1, supervise: false, schedule: false });
      boss.on('error', () => undefined);
      await boss.start();
      try {
        const schedules = await boss.getSchedules();
        expect(schedules.map((entry) => [entry.name, entry.cron]).sort()).to.deep.equal([
          [MAINTENANCE_QUEUE, '* * * * *'],
          [KEY_ROTATION_QUEUE, KEY_ROTATION_CRON],
        ]);
        expect((await boss.getQueue(MAINTENANCE_QUEUE))?.policy).to.equal('stately');
      } finally {
        await boss.stop({ graceful: false });
      }
    });
  });
});
