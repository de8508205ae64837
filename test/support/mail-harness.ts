import crypto from 'node:crypto';
import type { Config } from '../../shared/config/config.js';
import { claimOutboxBatch, releaseOutboxRows, type ClaimedOutboxRow } from '../../shared/db/queries/outbox.js';
import type { DomainEvent } from '../../shared/events/event-schemas.js';
import type { Component } from '../../shared/process/boot.js';
import { createQueueSet } from '../../shared/queues/queue-set.js';
import type { Queues } from '../../shared/queues/queues.js';
import { emailMailKinds, MAIL_BATCHES, startEmailWorker } from '../../workers/email/start-email-worker.js';
import type { Processors } from '../../workers/create-worker.js';
import { MailBatcher } from '../../workers/email/mail-batcher.js';
import { mailProcessors } from '../../workers/email/mail-processors.js';
import { startRelay } from '../../workers/relay/start-relay.js';
import { claimScoring } from '../../workers/relay/settle-batch.js';
import { createMailer } from '../../shared/mail/mailer.js';
import { testApp } from './hooks.js';
import { removeTestKeys, testPrefix } from './redis-keys.js';
import { createVhost, type TestVhost } from './relay-harness.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from './smtp-sink.js';
import { waitFor } from './wait-for.js';

/**
 * The asynchronous half, in-process, as production wires it: the relay (on a vhost of
 * its own) publishes the test database's outbox and enqueues the reactions under a
 * queue prefix of this run; the email worker sends them over SMTP to a sink started
 * here. `processors()` builds the email role's processors apart, to call them directly.
 */
export interface MailHarness {
  sink: SmtpSink;
  config: Config;
  queues: Queues;
  processors(): { processors: Processors; close(): void };
  stop(): Promise<void>;
}

export async function startMailHarness(): Promise<MailHarness> {
  const services = testApp().services;
  const sink = await startSmtpSink();
  const vhost: TestVhost = await createVhost('us_mail');
  const prefix = testPrefix('mail-test');
  const config: Config = { ...services.config, smtpUrl: sink.url, queuePrefix: prefix, rabbitmqUrl: vhost.url };
  const queueSet = createQueueSet(config, services.log, 'consumer');
  const { queues } = queueSet;
  const components: Component[] = [
    await startEmailWorker({ ...services, config, queueSet }),
    await startRelay({ config, log: services.log, pool: services.pool, metrics: services.metrics }),
  ];
  return {
    sink,
    config,
    queues,
    processors() {
      const mailer = createMailer(config, services.log);
      const kinds = emailMailKinds(config);
      return { processors: mailProcessors(new MailBatcher(services.pool, mailer, kinds, MAIL_BATCHES, services.metrics), kinds), close: () => mailer.close() };
    },
    async stop() {
      for (const component of components.reverse()) await component.stop();
      await queueSet.close();
      await removeTestKeys(prefix);
      await vhost.remove();
      await sink.close();
    },
  };
}

/** The links (http/https URLs) in a text. */
export function linksIn(text: string): string[] {
  return text.match(/https?:\/\/[^\s<>"]+/g) ?? [];
}

/** The token of the one link in a mail's text part, checked against PUBLIC_URL and the route. */
/** Where each mailed link's token is stored (as its SHA-256). */
const LINK_TOKEN_TABLES: Record<string, string> = {
  '/email/verify': 'email_verification_tokens',
  '/password/reset': 'password_resets',
  '/security/not-me': 'security_tokens',
};

/**
 * The token of the mail's one link, once it is stored. The email worker sends inside its
 * transaction and commits right after the server accepted the mail (at least once, never
 * lost), so a test acting on the link the instant it arrives would race that commit,
 * which a person reading the mail never does.
 */
export async function tokenFromMail(mail: ReceivedMail, publicUrl: string, route: string): Promise<string> {
  const token = tokenInLink(mail, publicUrl, route);
  const table = LINK_TOKEN_TABLES[route];
  if (!table) throw new Error(`no token table known for ${route}`);
  const hash = crypto.createHash('sha256').update(token).digest('hex');
  await waitFor(`the token of the ${route} link to be stored`, async () => {
    const { rowCount } = await testApp().services.pool.query(`SELECT 1 FROM ${table} WHERE token_hash = $1`, [hash]);
    return rowCount ? true : undefined;
  });
  return token;
}

function tokenInLink(mail: ReceivedMail, publicUrl: string, route: string): string {
  const links = linksIn(mail.parsed.text ?? '');
  if (links.length !== 1) throw new Error(`expected exactly one link in the text part, found ${links.length}: ${mail.parsed.text}`);
  const url = new URL(links[0]!);
  if (`${url.origin}${url.pathname}` !== `${publicUrl}${route}`) throw new Error(`link ${links[0]} is not under ${publicUrl}${route}`);
  const token = url.searchParams.get('token');
  if (!token || !/^[\w-]{43}$/.test(token)) throw new Error(`link ${links[0]} carries no URL-safe token`);
  return token;
}

/** The user's outbox events, oldest first. */
export async function outboxEventsOf(userId: string): Promise<DomainEvent[]> {
  const { rows } = await testApp().services.pool.query<{ payload: DomainEvent }>(
    'SELECT payload FROM outbox WHERE aggregate_id = $1 ORDER BY id',
    [userId],
  );
  return rows.map((row) => row.payload);
}

/**
 * The user's unpublished outbox rows claimed as the relay claims them (the login events
 * with their attempts' features), oldest first. Other rows the claims take on the way
 * (left by earlier suites) are let go again at the end.
 */
export async function claimedRowsOf(userId: string, anomaly: Config['anomaly'] = testApp().services.config.anomaly): Promise<ClaimedOutboxRow[]> {
  const pool = testApp().services.pool;
  const { rows: own } = await pool.query<{ id: string }>('SELECT id FROM outbox WHERE aggregate_id = $1 AND published_at IS NULL', [userId]);
  const wanted = new Set(own.map((row) => row.id));
  const mine: ClaimedOutboxRow[] = [];
  const others: string[] = [];
  try {
    while (mine.length < wanted.size) {
      const batch = await claimOutboxBatch(pool, 500, 60, claimScoring(anomaly));
      if (batch.length === 0) throw new Error(`claimed ${mine.length} of the ${wanted.size} outbox rows of ${userId}`);
      for (const row of batch) (wanted.has(row.id) ? mine.push(row) : others.push(row.id));
    }
  } finally {
    await releaseOutboxRows(pool, others);
  }
  return mine.sort((a, b) => Number(a.id) - Number(b.id));
}

/** Lets the pipeline run for a while (to assert that nothing more arrives). */
export function settle(ms = 1_500): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
