import amqp, { type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { redactUrl } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { declareEventTopology } from './broker-topology.js';

export type BrokerConnection = RecoveringChannelModel;

/**
 * A RabbitMQ connection that recovers by itself: amqplib's opt-in recovery reconnects
 * with exponential backoff (200 ms doubling to 5 s, jittered) for ever, and declares the
 * events topology again after each connect, before any channel is handed out. Returns at
 * once: channel operations wait for the first connection, so a broker that is down at
 * start delays publishing but not the process. Channels are not recovered: a user of
 * the connection opens a new channel after losing one.
 */
export async function connectBroker(url: string, log: Logger, connectionName: string): Promise<BrokerConnection> {
  const connection = await amqp.connect(url, {
    clientProperties: { connection_name: connectionName },
    recovery: {
      initialDelay: 200,
      maxDelay: 5_000,
      maxRetries: Infinity,
      waitForConnect: false,
      async setup(model: ChannelModel) {
        const channel = await model.createChannel();
        await declareEventTopology(channel);
        await channel.close();
      },
    },
  });
  let down = false;
  connection.on('connect', () => {
    log.info({ broker: redactUrl(url) }, down ? 'RabbitMQ connection recovered' : 'connected to RabbitMQ');
    down = false;
  });
  connection.on('disconnect', (error: Error) => {
    down = true;
    log.warn({ reason: error.message }, 'RabbitMQ connection lost; reconnecting');
  });
  connection.on('connect-failed', (error: Error) => {
    if (!down) log.warn({ reason: error.message, broker: redactUrl(url) }, 'RabbitMQ is not reachable; retrying with backoff');
    down = true;
  });
  connection.on('reconnect-scheduled', ({ attempt, delay }: { attempt: number; delay: number }) =>
    log.debug({ attempt, delay_ms: delay }, 'RabbitMQ reconnect scheduled'),
  );
  connection.on('blocked', (reason: string) => log.warn({ reason }, 'RabbitMQ blocked publishing (resource alarm)'));
  connection.on('unblocked', () => log.info('RabbitMQ unblocked publishing'));
  // Protocol errors precede a 'disconnect'; listening keeps them from crashing the process.
  connection.on('error', (error: Error) => log.debug({ reason: error.message }, 'RabbitMQ connection error'));
  connection.on('handler-error', (error: Error, event: string) => log.error({ err: error, event }, 'RabbitMQ event handler threw'));
  return connection;
}
