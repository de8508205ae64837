import crypto from 'node:crypto';
import { Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { expect } from 'chai';
import { buildAsyncApiDocument } from '../shared/events/asyncapi-document.js';
import { createEvent, InvalidEventError } from '../shared/events/create-event.js';
import { EVENT_SCHEMAS, type DomainEvent, type EventData } from '../shared/events/event-schemas.js';
import { EVENT_TYPES, type EventType } from '../shared/events/event-types.js';
import type { Component } from '../shared/process/boot.js';
import { createQueueSet, type QueueSet } from '../shared/queues/queue-set.js';
import { reactionJobId } from '../shared/queues/jobs.js';
import { startAuditWorker } from '../workers/audit/start-audit-worker.js';
import { removeTestKeys, testPrefix } from './support/redis-keys.js';
import { sql } from './support/expectations.js';
import { testApp } from './support/hooks.js';
import { loginUser, registerUser, request } from './support/http.js';
import { waitFor } from './support/wait-for.js';

interface Document {
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }>; bindings: { amqp: Record<string, unknown> } }>;
  operations: Record<string, { action: string; channel: { $ref: string }; bindings: { amqp: Record<string, unknown> } }>;
  components: { messages: Record<string, { payload: Record<string, unknown>; bindings: { amqp: { messageType: string } } }> };
  servers?: Record<string, { host: string; protocol: string }>;
}

const AMQP_URL = 'amqp://relay:s3cret-password@broker.internal:5672/prod';

/** One valid data object per type: the Record makes a new event type fail to compile until it has one. */
const SAMPLE_DATA: { [T in EventType]: EventData<T> } = {
  UserRegistered: { locale: 'de-AT' },
  EmailVerificationRequested: {},
  EmailVerified: {},
  LoginSucceeded: { session_id: crypto.randomUUID(), attempt_id: '42' },
  LoginFailed: { reason: 'invalid_password', attempt_id: '43' },
  PasswordResetRequested: { reason: 'not_me' },
  PasswordChanged: { reason: 'reset', sessions_revoked: 2 },
  SessionRevoked: { session_id: crypto.randomUUID(), reason: 'admin', actor_id: crypto.randomUUID() },
  UserLocked: { reason: 'failure_burst', until: new Date().toISOString() },
  UserUnlocked: { reason: 'guard_expired', guarded_until: new Date().toISOString() },
  UserStatusChanged: { status: 'disabled', previous_status: 'active', reason: 'terms_violation', actor_id: crypto.randomUUID() },
  ProfileUpdated: { fields: 'display_name,locale' },
  MfaEnabled: { method: 'totp', method_id: crypto.randomUUID() },
  MfaDisabled: { method: 'webauthn', actor_id: crypto.randomUUID() },
  RoleGranted: { role: 'admin', actor_id: crypto.randomUUID() },
  RoleRevoked: { role: 'support' },
  UserDeleted: { sessions_revoked: 0 },
  RegistrationAttempted: {},
};

/** createEvent without its per-type typing, to give it data chosen at run time. */
const createUntyped = createEvent as (type: EventType, userId: string, data: unknown) => DomainEvent;

describe('event schemas and the AsyncAPI document', () => {
  const document = buildAsyncApiDocument({ publicUrl: 'https://accounts.example.com', amqpUrl: AMQP_URL }) as unknown as Document;

  it('is a valid AsyncAPI 3.0 document, naming the broker without its credentials', async () => {
    const parser = new Parser();
    const diagnostics = await parser.validate(document as never);
    expect(diagnostics.filter((diagnostic) => diagnostic.severity === 0).map((diagnostic) => `${diagnostic.path.join('.')}: ${diagnostic.message}`)).to.deep.equal([]);
    const { document: parsed } = await parser.parse(document as never);
    expect(parsed?.version()).to.equal('3.0.0');
    expect(parsed?.messages().all().map((message) => message.id()).sort()).to.deep.equal([...EVENT_TYPES].sort());
    expect(document.servers?.broker).to.include({ host: 'broker.internal:5672', protocol: 'amqp' });
    expect(JSON.stringify(document)).to.not.include('s3cret').and.not.include('relay:');
  });

  it('is served at GET /asyncapi.json for the configured broker and public URL, and is valid there too', async () => {
    const response = await request('GET', '/asyncapi.json');
    expect(response.status).to.equal(200);
    const { config } = testApp().services;
    expect(response.body).to.deep.equal(JSON.parse(JSON.stringify(buildAsyncApiDocument({ publicUrl: config.publicUrl, amqpUrl: config.rabbitmqUrl }))));
    const diagnostics = await new Parser().validate(response.body);
    expect(diagnostics.filter((diagnostic) => diagnostic.severity === 0)).to.deep.equal([]);
  });

  it('has a routing-key channel, a send operation and a message for every event type', () => {
    for (const type of EVENT_TYPES) {
      const message = document.components.messages[type];
      expect(message, type).to.not.equal(undefined);
      expect(message!.bindings.amqp.messageType).to.equal(type);
      expect(message!.payload).to.include({ type: 'object', additionalProperties: false });
      expect(message!.payload.required).to.deep.equal(['event_id', 'type', 'occurred_at', 'user_id', 'data']);
      const channel = document.channels[type]!;
      expect(channel.address).to.equal(type);
      expect(channel.bindings.amqp).to.deep.include({ is: 'routingKey', exchange: { name: 'user.events', type: 'topic', durable: true, autoDelete: false, vhost: 'prod' } });
      expect(channel.messages[type]).to.deep.equal({ $ref: `#/components/messages/${type}` });
      const operation = document.operations[`publish${type}`]!;
      expect(operation).to.deep.include({ action: 'send', channel: { $ref: `#/channels/${type}` } });
      expect(operation.bindings.amqp).to.include({ deliveryMode: 2, timestamp: true });
    }
    expect(document.channels.unrouted!.address).to.equal('user.events.unrouted');
    expect(document.channels.unrouted!.bindings.amqp).to.deep.include({ is: 'queue' });
    expect(Object.keys(document.channels.unrouted!.messages)).to.have.length(EVENT_TYPES.length);
  });

  it('accepts a well-formed event of every type, in zod and in the JSON Schema consumers get', () => {
    const ajv = new Ajv({ allErrors: true, strict: true });
    formats.default(ajv);
    for (const type of EVENT_TYPES) {
      const event = createUntyped(type, crypto.randomUUID(), SAMPLE_DATA[type]);
      const validate = ajv.compile(document.components.messages[type]!.payload);
      expect(validate(event), `${type}: ${JSON.stringify(validate.errors)}`).to.equal(true);
      // The JSON Schema is as strict as zod: a key that is not listed is refused there too.
      expect(validate({ ...event, data: { ...event.data, email: 'someone@example.com' } }), type).to.equal(false);
    }
  });

  it('never names a password, hash, token, secret or email field', () => {
    const names: string[] = [];
    const collect = (schema: unknown): void => {
      if (!schema || typeof schema !== 'object') return;
      const properties = (schema as { properties?: Record<string, unknown> }).properties ?? {};
      for (const [name, child] of Object.entries(properties)) {
        names.push(name);
        collect(child);
      }
    };
    for (const message of Object.values(document.components.messages)) collect(message.payload);
    expect(names).to.include('session_id');
    expect(names.filter((name) => /password|hash|token|secret|email|mail/i.test(name))).to.deep.equal([]);
  });

  it('refuses at creation an event whose data breaks its schema, naming the type and the field', () => {
    const userId = crypto.randomUUID();
    const attempt = (type: EventType, data: unknown) => () => createUntyped(type, userId, data);
    expect(attempt('UserRegistered', { locale: 42 }))
      .to.throw(InvalidEventError)
      .with.property('message', 'invalid UserRegistered event: data.locale: Invalid input: expected string, received number');
    expect(attempt('PasswordChanged', { reason: 'forgot' }))
      .to.throw(InvalidEventError)
      .with.property('message')
      .that.equals('invalid PasswordChanged event: data.reason: Invalid option: expected one of "change"|"reset"; data.sessions_revoked: Invalid input: expected number, received undefined');
    expect(attempt('ProfileUpdated', { fields: 'display_name', email: 'owner@example.com' }))
      .to.throw(InvalidEventError)
      .with.property('message', 'invalid ProfileUpdated event: data: Unrecognized key: "email"');
    expect(() => createEvent('EmailVerified', 'not-a-user-id'))
      .to.throw(InvalidEventError)
      .with.property('message', 'invalid EmailVerified event: user_id: Invalid UUID');
  });

  it('stores the LoginSucceeded that the sign-in statement completes as its schema says', async () => {
    const user = await registerUser();
    await loginUser(user.email, user.password);
    const [row] = await sql<{ payload: unknown }>("SELECT payload FROM outbox WHERE aggregate_id = $1 AND type = 'LoginSucceeded'", [user.userId]);
    const parsed = EVENT_SCHEMAS.LoginSucceeded.safeParse(row!.payload);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).to.equal(true);
    const [session] = await sql<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [user.userId]);
    expect(parsed.data!.data.session_id).to.equal(session!.id);
  });

  describe('the worker factory', () => {
    let queueSet: QueueSet;
    let worker: Component;
    const prefix = testPrefix('event-schemas-test');

    before(async () => {
      const services = testApp().services;
      const config = { ...services.config, queuePrefix: prefix };
      queueSet = createQueueSet(config, services.log, 'consumer');
      worker = await startAuditWorker({ ...services, config, queueSet });
    });

    after(async () => {
      await worker?.stop();
      await queueSet.close();
      await removeTestKeys(prefix);
    });

    it('fails a job whose payload breaks its schema at once, naming the field, and gives its reaction up', async () => {
      const event = createEvent('UserRegistered', crypto.randomUUID(), { locale: 'en' });
      const broken = { ...event, data: { locale: 7 } };
      await sql(`INSERT INTO reactions (event_id, job_name, payload, enqueued_at) VALUES ($1, 'write-audit-log', $2, now())`, [event.event_id, JSON.stringify(broken)]);
      const jobId = reactionJobId(event.event_id, 'write-audit-log');
      await queueSet.queues.audit.add('write-audit-log', broken as never, { jobId, attempts: 5 });

      const [reaction] = await waitFor('the reaction given up', async () => {
        const rows = await sql<{ given_up_at: Date | null; last_error: string | null }>(
          "SELECT given_up_at, last_error FROM reactions WHERE event_id = $1 AND job_name = 'write-audit-log'",
          [event.event_id],
        );
        return rows[0]?.given_up_at ? rows : undefined;
      });
      const expected = 'write-audit-log: the payload is not an event this job takes (data.locale: Invalid input: expected string, received number)';
      expect(reaction!.last_error).to.equal(expected);
      const job = await queueSet.queues.audit.getJob(jobId);
      expect(await job!.getState()).to.equal('failed');
      expect(job!.attemptsMade).to.equal(1);
      expect(job!.failedReason).to.equal(expected);
      expect(await sql('SELECT 1 FROM audit_logs WHERE event_id = $1', [event.event_id])).to.have.length(0);
    });
  });
});
