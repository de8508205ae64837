import type { Channel } from 'amqplib';

/** Where every domain event is published: a durable topic exchange, routing key = event type. */
export const EVENTS_EXCHANGE = 'user.events';
/**
 * The alternate exchange of EVENTS_EXCHANGE and its queue: an event that no consumer is
 * bound to yet is kept here rather than dropped, and its publish still counts as done.
 */
export const UNROUTED_EXCHANGE = 'user.events.unrouted';
export const UNROUTED_QUEUE = 'user.events.unrouted';

/** The arguments EVENTS_EXCHANGE is declared with; a consumer asserting it must use the same. */
export const EVENTS_EXCHANGE_OPTIONS = { durable: true, alternateExchange: UNROUTED_EXCHANGE } as const;

/**
 * Declares the events topology (idempotent). Runs after every (re)connect, so a broker
 * that lost its definitions gets them back before anything is published.
 */
export async function declareEventTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(UNROUTED_EXCHANGE, 'fanout', { durable: true });
  await channel.assertQueue(UNROUTED_QUEUE, { durable: true });
  await channel.bindQueue(UNROUTED_QUEUE, UNROUTED_EXCHANGE, '');
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', EVENTS_EXCHANGE_OPTIONS);
}
