import { z } from 'zod';
import { EVENTS_EXCHANGE, EVENTS_EXCHANGE_OPTIONS, UNROUTED_EXCHANGE, UNROUTED_QUEUE } from '../broker/broker-topology.js';
import { serviceVersion } from '../project-root.js';
import { EVENT_SCHEMAS } from './event-schemas.js';
import { EVENT_TYPES, type EventType } from './event-types.js';

export interface AsyncApiOptions {
  /** PUBLIC_URL: the document links to the HTTP API's docs there. */
  publicUrl?: string;
  /** RABBITMQ_URL: the document names its host, port and vhost, never its credentials. */
  amqpUrl?: string;
}

/** A JSON document (AsyncAPI 3.0): plain data, ready for JSON.stringify. */
export type AsyncApiDocument = Record<string, unknown>;

const AMQP_BINDING_VERSION = '0.3.0';
const UNROUTED_CHANNEL = 'unrouted';

const DESCRIPTION = `Domain events of user-services: what happened to an account, published to the durable
topic exchange \`${EVENTS_EXCHANGE}\` with the event type as routing key.

To consume, declare your own durable queue, bind it to \`${EVENTS_EXCHANGE}\` with the routing
keys you want (\`#\` for all), and ack after you have acted. Delivery is at least once: the
same event may arrive twice (a relay that crashed between the broker's confirm and its own
record publishes it again), so dedupe by the AMQP \`message_id\`, which is the event's
\`event_id\`. An event no queue is bound for yet goes to the alternate exchange
\`${UNROUTED_EXCHANGE}\` and waits in the durable queue \`${UNROUTED_QUEUE}\`, so nothing is lost
before a consumer binds.

Each message body is one JSON event \`{event_id, type, occurred_at, user_id, data}\`; \`data\`
has a schema per type. The schemas describe this version exactly; a later version may add
optional fields to \`data\`, so ignore fields you do not know rather than refuse them. An event
never carries a password, a hash, a token, a secret or an email address.`;

/** The broker's address without credentials, and its vhost ('/' when the URL names none). */
function brokerOf(amqpUrl: string | undefined): { host?: string; vhost: string } {
  if (!amqpUrl) return { vhost: '/' };
  const url = new URL(amqpUrl);
  const vhost = decodeURIComponent(url.pathname.slice(1));
  return { host: url.port ? `${url.hostname}:${url.port}` : url.hostname, vhost: vhost || '/' };
}

/** The event's JSON Schema (draft-07, which AsyncAPI's default schema format builds on), from its zod schema. */
function payloadSchema(type: EventType): Record<string, unknown> {
  const { $schema: _draft, ...schema } = z.toJSONSchema(EVENT_SCHEMAS[type], { target: 'draft-7' });
  return schema;
}

function message(type: EventType) {
  return {
    name: type,
    title: type,
    contentType: 'application/json',
    description: `AMQP properties: \`message_id\` = \`event_id\` (dedupe on it), \`type\` = \`${type}\`, \`content_type\` = \`application/json\`, \`delivery_mode\` = 2 (persistent), \`timestamp\` = when the event was written (seconds), \`app_id\` = \`user-services\`.`,
    payload: payloadSchema(type),
    bindings: { amqp: { messageType: type, bindingVersion: AMQP_BINDING_VERSION } },
  };
}

/**
 * The AsyncAPI 3.0 document of the events, generated from EVENT_SCHEMAS and the broker
 * topology: one channel per routing key (= event type) on `user.events`, one send
 * operation each, one message per type at components.messages.<EventType> whose payload
 * is the type's JSON Schema, and the unrouted queue. Build it once at start: it reads
 * package.json for the version.
 */
export function buildAsyncApiDocument(options: AsyncApiOptions = {}): AsyncApiDocument {
  const broker = brokerOf(options.amqpUrl);
  const exchange = { name: EVENTS_EXCHANGE, type: 'topic', durable: EVENTS_EXCHANGE_OPTIONS.durable, autoDelete: false, vhost: broker.vhost };
  const messageRefs = Object.fromEntries(EVENT_TYPES.map((type) => [type, { $ref: `#/components/messages/${type}` }]));

  const channels: Record<string, unknown> = Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        address: type,
        title: `${type} on ${EVENTS_EXCHANGE}`,
        description: `Routing key \`${type}\` on the topic exchange \`${EVENTS_EXCHANGE}\` (durable; alternate exchange \`${UNROUTED_EXCHANGE}\`).`,
        messages: { [type]: messageRefs[type] },
        bindings: { amqp: { is: 'routingKey', exchange, bindingVersion: AMQP_BINDING_VERSION } },
      },
    ]),
  );
  channels[UNROUTED_CHANNEL] = {
    address: UNROUTED_QUEUE,
    title: 'Events no queue was bound for',
    description: `The durable queue that the fanout exchange \`${UNROUTED_EXCHANGE}\`, alternate exchange of \`${EVENTS_EXCHANGE}\`, feeds: events published while no queue was bound for their routing key wait here for an operator.`,
    messages: messageRefs,
    bindings: {
      amqp: {
        is: 'queue',
        queue: { name: UNROUTED_QUEUE, durable: true, exclusive: false, autoDelete: false, vhost: broker.vhost },
        bindingVersion: AMQP_BINDING_VERSION,
      },
    },
  };

  const operations = Object.fromEntries(
    EVENT_TYPES.map((type) => [
      `publish${type}`,
      {
        action: 'send',
        title: `Publish ${type}`,
        channel: { $ref: `#/channels/${type}` },
        messages: [{ $ref: `#/channels/${type}/messages/${type}` }],
        bindings: { amqp: { deliveryMode: 2, timestamp: true, bindingVersion: AMQP_BINDING_VERSION } },
      },
    ]),
  );

  return {
    asyncapi: '3.0.0',
    id: 'urn:user-services:events',
    info: {
      title: 'user-services events',
      version: serviceVersion(),
      description: DESCRIPTION,
      ...(options.publicUrl ? { externalDocs: { description: 'The HTTP API', url: `${options.publicUrl.replace(/\/$/, '')}/docs` } } : {}),
    },
    defaultContentType: 'application/json',
    ...(broker.host
      ? { servers: { broker: { host: broker.host, protocol: 'amqp', description: `RabbitMQ, vhost \`${broker.vhost}\`` } } }
      : {}),
    channels,
    operations,
    components: { messages: Object.fromEntries(EVENT_TYPES.map((type) => [type, message(type)])) },
  };
}
