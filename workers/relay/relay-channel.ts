import type { ConfirmChannel } from 'amqplib';
import { EVENTS_EXCHANGE } from '../../shared/broker/broker-topology.js';
import type { BrokerConnection } from '../../shared/broker/connect-broker.js';
import type { Logger } from '../../shared/logger.js';

/** A confirm channel and what became of it. */
export interface OpenChannel {
  channel: ConfirmChannel;
  /** Set when the broker closed the channel for something published on it (404, 406 ...). */
  serverError?: Error & { code?: number };
}

/**
 * The relay's confirm channel over a recovering connection. Channels are not recovered
 * by amqplib: a closed one is forgotten and the next open() makes a new one, waiting for
 * the connection to come back if need be.
 */
export class RelayChannel {
  private current: Promise<OpenChannel> | undefined;
  private opened: OpenChannel | undefined;
  /** Exchanges known to exist on the current connection (the topology declares the events exchange). */
  private knownExchanges = new Set([EVENTS_EXCHANGE]);

  constructor(
    private readonly connection: BrokerConnection,
    private readonly log: Logger,
  ) {
    connection.on('connect', () => {
      this.knownExchanges = new Set([EVENTS_EXCHANGE]);
    });
  }

  /** Whether a channel is open right now (no waiting). */
  isOpen(): boolean {
    return this.opened !== undefined;
  }

  open(): Promise<OpenChannel> {
    if (this.current) return this.current;
    const opening = this.connection.createConfirmChannel().then((channel) => {
      const state: OpenChannel = { channel };
      channel.on('error', (error: Error & { code?: number }) => {
        state.serverError = error;
        this.log.warn({ reason: error.message }, 'the broker closed the publishing channel; opening a new one');
      });
      channel.on('close', () => {
        if (this.current === opening) this.current = undefined;
        if (this.opened === state) this.opened = undefined;
      });
      this.opened = state;
      return state;
    });
    opening.catch(() => {
      if (this.current === opening) this.current = undefined;
    });
    this.current = opening;
    return opening;
  }

  /** Closes a channel whose confirms can no longer be trusted (a confirm timeout). */
  discard(state: OpenChannel): void {
    if (this.opened === state) this.opened = undefined;
    void this.current?.then(
      (open) => {
        if (open === state) this.current = undefined;
      },
      () => undefined,
    );
    state.channel.close().catch(() => undefined);
  }

  /**
   * Which of `exchanges` do not exist, with the broker's reason. Checked on a throwaway
   * channel, since publishing to a missing exchange would close the confirm channel and
   * fail every message in flight with it. Throws when the broker cannot be asked.
   */
  async missingExchanges(exchanges: Iterable<string>): Promise<Map<string, string>> {
    const missing = new Map<string, string>();
    for (const exchange of exchanges) {
      if (this.knownExchanges.has(exchange)) continue;
      const channel = await this.connection.createChannel();
      channel.on('error', () => undefined);
      try {
        await channel.checkExchange(exchange);
        this.knownExchanges.add(exchange);
        await channel.close();
      } catch (error) {
        const failure = error as Error & { code?: number };
        if (failure.code !== 404) throw failure;
        missing.set(exchange, `exchange "${exchange}" does not exist: ${failure.message}`);
      }
    }
    return missing;
  }
}
