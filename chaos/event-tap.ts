import { setTimeout as sleep } from 'node:timers/promises';
import amqp, { type ChannelModel } from 'amqplib';
import { declareEventTopology, EVENTS_EXCHANGE } from '../shared/broker/broker-topology.js';

const QUEUE = 'chaos.ledger';

export interface EventTap {
  /** Deliveries per message_id (a redelivery of a message not yet acked is not counted again). */
  seen: Map<string, number>;
  close(): Promise<void>;
}

/**
 * The harness's own durable consumer of every event: a durable queue bound to
 * user.events with `#`, declared before any traffic so nothing published is routed
 * past it. Acks after counting; reconnects with backoff when the broker goes away.
 */
export async function startEventTap(url: string): Promise<EventTap> {
  const seen = new Map<string, number>();
  let connection: ChannelModel | undefined;
  let closed = false;

  async function open(): Promise<void> {
    const opened = await amqp.connect(url);
    opened.on('error', () => undefined);
    opened.on('close', () => {
      if (!closed) void reopen();
    });
    const channel = await opened.createChannel();
    await declareEventTopology(channel);
    await channel.assertQueue(QUEUE, { durable: true });
    await channel.bindQueue(QUEUE, EVENTS_EXCHANGE, '#');
    await channel.prefetch(200);
    await channel.consume(QUEUE, (message) => {
      if (!message) return;
      const id = String(message.properties.messageId);
      if (!(message.fields.redelivered && seen.has(id))) seen.set(id, (seen.get(id) ?? 0) + 1);
      channel.ack(message);
    });
    connection = opened;
  }

  async function reopen(): Promise<void> {
    connection = undefined;
    for (let delay = 200; !closed; delay = Math.min(delay * 2, 3_000)) {
      await sleep(delay * (0.5 + Math.random()));
      try {
        return await open();
      } catch {
        // The broker is still away.
      }
    }
  }

  await open();
  return {
    seen,
    async close() {
      closed = true;
      await connection?.close().catch(() => undefined);
    },
  };
}
