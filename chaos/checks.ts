import type pg from 'pg';
import { hashToken } from '../shared/crypto/random-token.js';
import type { SmtpSink } from '../test/support/smtp-sink.js';
import type { EventTap } from './event-tap.js';
import type { Ledger } from './ledger.js';
import { tokenInMail } from './traffic.js';

/** Per phase: promises checked, lost (a broken promise), duplicated (delivered more than once). */
export interface Tally {
  checked: number;
  lost: number;
  duplicated: number;
  /** What was lost or duplicated beyond what at-least-once allows, for the report. */
  problems: string[];
}

export interface CheckResult {
  byPhase: Map<string, Tally>;
  total: Tally;
}

const MAIL_ROUTES = { verification: '/email/verify', reset: '/password/reset' } as const;

/**
 * Every promise in the ledger held against what the database, the harness's queue and
 * the SMTP sink hold now. Read-only, so it can be run again while things settle.
 */
export async function checkPromises(pool: pg.Pool, ledger: Ledger, tap: EventTap, sink: SmtpSink): Promise<CheckResult> {
  const byPhase = new Map<string, Tally>();
  const tally = (phase: string) => {
    let entry = byPhase.get(phase);
    if (!entry) byPhase.set(phase, (entry = { checked: 0, lost: 0, duplicated: 0, problems: [] }));
    return entry;
  };
  const lose = (phase: string, what: string) => {
    tally(phase).lost += 1;
    tally(phase).problems.push(`lost: ${what}`);
  };

  // The rows each answer promised.
  const ids = (kind: string, pick: (p: (typeof ledger.promises)[number]) => string | undefined) =>
    [...new Set(ledger.promises.filter((p) => p.kind === kind).map(pick).filter((v): v is string => Boolean(v)))];
  const users = new Set((await pool.query<{ id: string }>('SELECT id FROM users WHERE id = ANY($1::uuid[])', [ids('register', (p) => p.userId)])).rows.map((r) => r.id));
  const sessionPromises = ledger.promises.filter((p) => p.kind === 'login' || p.kind === 'refresh');
  const sessions = new Set((await pool.query<{ id: string }>('SELECT id FROM sessions WHERE id = ANY($1::uuid[])', [[...new Set(sessionPromises.map((p) => p.sessionId).filter(Boolean))]])).rows.map((r) => r.id));
  const hashes = sessionPromises.map((p) => hashToken(p.refreshToken ?? ''));
  const tokens = new Set((await pool.query<{ token_hash: string }>('SELECT token_hash FROM refresh_tokens WHERE token_hash = ANY($1::text[])', [hashes])).rows.map((r) => r.token_hash));
  const resetEvents = (await pool.query<{ user_id: string; created_at: Date }>(`SELECT aggregate_id AS user_id, created_at FROM outbox WHERE type = 'PasswordResetRequested'`)).rows;
  for (const promised of ledger.promises) {
    const entry = tally(promised.phase);
    entry.checked += 1;
    if (promised.kind === 'register' && !users.has(promised.userId)) lose(promised.phase, `user ${promised.email}`);
    if ((promised.kind === 'login' || promised.kind === 'refresh') && !(sessions.has(promised.sessionId ?? '') && tokens.has(hashToken(promised.refreshToken ?? '')))) {
      lose(promised.phase, `${promised.kind} session ${promised.sessionId} of ${promised.email}`);
    }
    if (promised.kind === 'forgot' && !resetEvents.some((event) => event.user_id === promised.userId && event.created_at.getTime() >= promised.sentAt! - 2_000 && event.created_at.getTime() <= promised.at + 2_000)) {
      lose(promised.phase, `PasswordResetRequested of ${promised.email}`);
    }
  }

  // Every committed event reached the harness's queue, and has exactly one audit row.
  const events = (await pool.query<{ event_id: string; type: string; created_at: Date; audits: string }>(
    `SELECT o.event_id, o.type, o.created_at, (SELECT count(*) FROM audit_logs a WHERE a.event_id = o.event_id) AS audits FROM outbox o`,
  )).rows;
  for (const event of events) {
    const phase = ledger.phaseAt(event.created_at.getTime()).name;
    const entry = tally(phase);
    entry.checked += 2;
    const delivered = tap.seen.get(event.event_id) ?? 0;
    if (delivered === 0) lose(phase, `event ${event.type} ${event.event_id} never reached RabbitMQ`);
    if (delivered > 1) entry.duplicated += delivered - 1;
    const audits = Number(event.audits);
    if (audits === 0) lose(phase, `audit row of ${event.type} ${event.event_id}`);
    if (audits > 1) entry.duplicated += audits - 1;
  }

  // Mail: every token issued was mailed exactly once; a mail whose token was never committed is a duplicate.
  const emails = [...new Set(ledger.promises.filter((p) => p.kind === 'register' || p.kind === 'forgot').map((p) => p.email))];
  const registered = new Map(ledger.promises.filter((p) => p.kind === 'register').map((p) => [p.userId, p]));
  for (const [kind, table] of [['verification', 'email_verification_tokens'], ['reset', 'password_resets']] as const) {
    const issued = (await pool.query<{ user_id: string; email: string; token_hash: string; created_at: Date }>(
      `SELECT t.user_id, u.email::text AS email, t.token_hash, t.created_at FROM ${table} t JOIN users u ON u.id = t.user_id WHERE u.email::text = ANY($1::text[])`,
      [emails],
    )).rows;
    const mailed = new Map<string, { at: number; email: string }[]>();
    for (const email of emails) {
      for (const mail of sink.mailsTo(email)) {
        const token = tokenInMail(mail, MAIL_ROUTES[kind]);
        if (!token) continue;
        const hash = hashToken(token);
        mailed.set(hash, [...(mailed.get(hash) ?? []), { at: mail.receivedAt, email }]);
      }
    }
    if (kind === 'reset') {
      // Used tokens were committed too, though the maintenance purge may have removed their rows; issued when first mailed.
      const inDatabase = new Set(issued.map((row) => row.token_hash));
      for (const [hash, used] of ledger.consumedResetTokens) {
        const firstMail = Math.min(...(mailed.get(hash) ?? []).map((copy) => copy.at));
        if (!inDatabase.has(hash)) issued.push({ user_id: used.userId, email: used.email, token_hash: hash, created_at: new Date(Number.isFinite(firstMail) ? firstMail : 0) });
      }
    }
    const committed = new Set(issued.map((row) => row.token_hash));
    for (const row of issued) {
      const phase = ledger.phaseAt(row.created_at.getTime()).name;
      const copies = mailed.get(row.token_hash)?.length ?? 0;
      tally(phase).checked += 1;
      if (copies === 0) lose(phase, `${kind} mail to ${row.email}`);
      if (copies > 1) tally(phase).duplicated += copies - 1;
    }
    // Orphans: mailed, but the worker's transaction never committed (a crash between the SMTP accept and the commit).
    const orphansPerUserPhase = new Map<string, number>();
    for (const [hash, copies] of mailed) {
      if (committed.has(hash)) continue;
      for (const copy of copies) {
        const phase = ledger.phaseAt(copy.at).name;
        tally(phase).duplicated += 1;
        const key = `${phase} ${copy.email}`;
        orphansPerUserPhase.set(key, (orphansPerUserPhase.get(key) ?? 0) + 1);
      }
    }
    for (const [key, count] of orphansPerUserPhase) {
      const phase = key.split(' ')[0]!;
      if (phase === 'baseline' || count > 1) tally(phase).problems.push(`duplicated beyond at-least-once: ${count} ${kind} mail(s) with uncommitted tokens (${key})`);
    }
    if (kind === 'verification') {
      const withToken = new Set(issued.map((row) => row.user_id));
      for (const [userId, promised] of registered) {
        if (!withToken.has(userId)) lose(promised.phase, `no verification token was ever issued to ${promised.email}`);
      }
    } else {
      // Each PasswordResetRequested of a harness user got its token (the forgots are spaced past the cooldown).
      for (const promised of ledger.promises.filter((p) => p.kind === 'forgot')) {
        const got = issued.some((row) => row.user_id === promised.userId && row.created_at.getTime() >= promised.sentAt! - 2_000);
        if (!got) lose(promised.phase, `no reset token was issued to ${promised.email} after its forgot`);
      }
    }
  }

  const total: Tally = { checked: 0, lost: 0, duplicated: 0, problems: [] };
  for (const entry of byPhase.values()) {
    total.checked += entry.checked;
    total.lost += entry.lost;
    total.duplicated += entry.duplicated;
    total.problems.push(...entry.problems);
  }
  return { byPhase, total };
}
