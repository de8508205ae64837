import crypto from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { buildAsyncApiDocument } from '../../shared/events/asyncapi-document.js';

/**
 * Every message published during the test run, held against its message in the AsyncAPI
 * document (the body against the payload's JSON Schema, the AMQP properties against what
 * the document promises). Every relay in the tests publishes on a vhost of its own
 * (createVhost), so each such vhost gets a tap: RabbitMQ's firehose (`rabbitmqctl
 * trace_on`) copies each publish, to any exchange, to `amq.rabbitmq.trace`, where a queue of
 * the tap's own collects it. A queue bound to `user.events` itself would change routing:
 * the events the tests expect in `user.events.unrouted` would no longer go there.
 * test/support/hooks.ts starts the check before the run and finishes it after.
 */

const TAP_QUEUE = 'test.published-events';
const SENTINEL_PREFIX = 'published-events-sentinel-';
const MAX_REPORTED = 10;

interface Check {
  validators: Map<string, ValidateFunction>;
  taps: Set<{ close(): Promise<void> }>;
  checked: number;
  failures: string[];
}

/** The run's one check, from the first root hook to the last. */
let activeCheck: Check | undefined;

export function startPublishedEventCheck(): void {
  const document = buildAsyncApiDocument() as { components: { messages: Record<string, { payload: object }> } };
  const ajv = new Ajv({ allErrors: true, strict: true });
  formats.default(ajv);
  const validators = new Map(Object.entries(document.components.messages).map(([type, message]) => [type, ajv.compile(message.payload)]));
  activeCheck = { validators, taps: new Set(), checked: 0, failures: [] };
}

/** Whether the run checks published events (not in bench/, which also creates vhosts). */
export function checkingPublishedEvents(): boolean {
  return activeCheck !== undefined;
}

function fail(current: Check, message: ConsumeMessage, reason: string): void {
  const headers = message.properties.headers ?? {};
  const where = `${String(headers.exchange_name)} / ${JSON.stringify(headers.routing_keys)}`;
  current.failures.push(`${where}: ${reason}\n    body: ${message.content.toString('utf8').slice(0, 600)}`);
}

/** One traced publish: its body against its type's schema, its properties against the document's promises. */
function inspect(current: Check, message: ConsumeMessage): void {
  current.checked += 1;
  const headers = message.properties.headers ?? {};
  const properties = (headers.properties ?? {}) as Record<string, unknown>;
  const routingKey = (headers.routing_keys as string[] | undefined)?.[0];
  let body: { event_id?: unknown; type?: unknown };
  try {
    body = JSON.parse(message.content.toString('utf8')) as typeof body;
  } catch {
    return fail(current, message, 'the body is not JSON');
  }
  const validate = current.validators.get(String(body.type));
  if (!validate) return fail(current, message, `no message in the AsyncAPI document for type ${JSON.stringify(body.type)}`);
  if (!validate(body)) return fail(current, message, `does not match its message schema: ${JSON.stringify(validate.errors)}`);
  const expected = { message_id: body.event_id, type: body.type, content_type: 'application/json', delivery_mode: 2 };
  for (const [name, value] of Object.entries(expected)) {
    if (properties[name] !== value) return fail(current, message, `AMQP property ${name} is ${JSON.stringify(properties[name])}, not ${JSON.stringify(value)}`);
  }
  if (typeof properties.timestamp !== 'number') return fail(current, message, 'no AMQP timestamp');
  if (routingKey !== body.type) return fail(current, message, `routing key ${routingKey} is not the type ${String(body.type)}`);
}

/** A consumer of one vhost's trace copies; it reconnects when a test closes every connection of its vhost. */
class Tap {
  private connection: ChannelModel | undefined;
  private channel: Channel | undefined;
  private closed = false;
  /** Settles once the tap consumes again after a lost connection. */
  private ready: Promise<void> = Promise.resolve();
  private readonly sentinels = new Map<string, () => void>();

  constructor(
    private readonly current: Check,
    private readonly url: string,
  ) {}

  async open(): Promise<void> {
    const connection = await amqp.connect(this.url);
    connection.on('error', () => undefined);
    connection.on('close', () => (this.ready = this.reopen()));
    const channel = await connection.createChannel();
    // Not exclusive: it outlives a closed connection, and what arrived meanwhile waits in it. The vhost's removal deletes it.
    await channel.assertQueue(TAP_QUEUE, { durable: false, exclusive: false, autoDelete: false });
    await channel.bindQueue(TAP_QUEUE, 'amq.rabbitmq.trace', 'publish.#');
    await channel.consume(TAP_QUEUE, (message) => message && this.receive(message), { noAck: true });
    this.connection = connection;
    this.channel = channel;
  }

  private async reopen(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 2_000)) {
      try {
        return await this.open();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private receive(message: ConsumeMessage): void {
    const properties = (message.properties.headers?.properties ?? {}) as { message_id?: string };
    const sentinel = properties.message_id?.startsWith(SENTINEL_PREFIX) ? this.sentinels.get(properties.message_id) : undefined;
    if (sentinel) return sentinel();
    inspect(this.current, message);
  }

  /**
   * Waits until every publish made before the call has reached the tap: a sentinel
   * published after them (to amq.direct, which drops it) comes back through the same
   * firehose, behind them.
   */
  async flush(timeoutMs = 10_000): Promise<void> {
    const id = `${SENTINEL_PREFIX}${crypto.randomUUID()}`;
    const arrived = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the firehose did not bring back ${id} within ${timeoutMs} ms (is tracing on?)`)), timeoutMs);
      this.sentinels.set(id, () => {
        clearTimeout(timer);
        this.sentinels.delete(id);
        resolve();
      });
    });
    const publish = () => this.channel!.publish('amq.direct', TAP_QUEUE, Buffer.from('{}'), { messageId: id });
    try {
      publish();
    } catch {
      // The connection was just closed under the tap (closeAllConnections): publish once it is back.
      await this.ready;
      publish();
    }
    await arrived;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.connection?.close().catch(() => undefined);
  }
}

/** Starts collecting a traced vhost's publishes; resolves once the firehose is seen to work. */
export async function tapVhost(url: string): Promise<{ close(): Promise<void> }> {
  const run = activeCheck;
  if (!run) throw new Error('startPublishedEventCheck() was not called (test/support/hooks.ts)');
  const tap = new Tap(run, url);
  await tap.open();
  await tap.flush();
  const handle = {
    async close() {
      run.taps.delete(handle);
      await tap.close();
    },
  };
  run.taps.add(handle);
  return handle;
}

/** Closes any tap still open and fails with the messages that broke their schema; prints the count once. */
export async function finishPublishedEventCheck(): Promise<void> {
  const run = activeCheck;
  if (!run) return;
  activeCheck = undefined;
  for (const tap of [...run.taps]) await tap.close().catch(() => undefined);
  console.log(`\n  published events checked against the AsyncAPI document: ${run.checked}, failing: ${run.failures.length}`);
  if (run.failures.length > 0) {
    const shown = run.failures.slice(0, MAX_REPORTED).join('\n  ');
    throw new Error(`${run.failures.length} published message(s) do not match the AsyncAPI document:\n  ${shown}`);
  }
}
