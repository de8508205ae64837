import type { ClaimedOutboxRow, OutboxFailure } from '../../shared/db/queries/outbox.js';
import type { OpenChannel, RelayChannel } from './relay-channel.js';

export interface PublishOutcome {
  /** Rows the broker confirmed, in confirm order. */
  confirmed: ClaimedOutboxRow[];
  failures: OutboxFailure[];
}

/** AMQP connection-forced: the broker closed the whole connection, not this channel for a message. */
const CONNECTION_FORCED = 320;

function failure(row: ClaimedOutboxRow, error: Error, state: OpenChannel | undefined): OutboxFailure {
  const nacked = error.message === 'message nacked';
  const channelError = state?.serverError;
  // A nack or the broker refusing what was published is the row's fault and counts
  // towards setting it aside; a lost connection or a timeout is the broker's and does not.
  const counts = nacked || (channelError !== undefined && channelError.code !== CONNECTION_FORCED);
  const reason = channelError && !nacked ? `${error.message}: ${channelError.message}` : error.message;
  return { id: row.id, error: reason, counts };
}

/** Publishes every row on the confirm channel, then resolves once each is confirmed, failed or timed out. */
function sendAndConfirm(relay: RelayChannel, state: OpenChannel, rows: ClaimedOutboxRow[], timeoutMs: number): Promise<PublishOutcome> {
  const outcome: PublishOutcome = { confirmed: [], failures: [] };
  if (rows.length === 0) return Promise.resolve(outcome);
  return new Promise((resolve) => {
    const settled = new Array<boolean>(rows.length).fill(false);
    let open = rows.length;
    const timer = setTimeout(() => {
      rows.forEach((row, index) => {
        if (!settled[index]) outcome.failures.push({ id: row.id, error: `no confirm within ${timeoutMs} ms`, counts: false });
        settled[index] = true;
      });
      // Late confirms on this channel would be ambiguous: drop it, the rows go out again.
      relay.discard(state);
      resolve(outcome);
    }, timeoutMs);
    rows.forEach((row, index) => {
      const done = (error: Error | null) => {
        if (settled[index]) return;
        settled[index] = true;
        if (error) outcome.failures.push(failure(row, error, state));
        else outcome.confirmed.push(row);
        if (--open === 0) {
          clearTimeout(timer);
          resolve(outcome);
        }
      };
      try {
        // The write buffer may exceed its high-water mark here; the relay's window of
        // batches in flight (OUTBOX_BATCH_SIZE x OUTBOX_INFLIGHT_BATCHES) bounds it.
        state.channel.publish(
          row.topic,
          row.type,
          Buffer.from(row.body),
          {
            persistent: true,
            messageId: row.event_id,
            type: row.type,
            contentType: 'application/json',
            timestamp: Math.floor(row.created_at.getTime() / 1000),
            appId: 'user-services',
          },
          (error: Error | null) => done(error),
        );
      } catch (error) {
        done(error as Error);
      }
    });
  });
}

/**
 * Publishes a claimed batch: exchange = the row's topic, routing key = its type,
 * persistent, message_id = event_id, body = the stored event JSON. Never throws: a
 * broker that cannot be reached fails every row (uncounted), a missing exchange fails
 * its rows (counted) without touching the confirm channel.
 */
export async function publishBatch(relay: RelayChannel, rows: ClaimedOutboxRow[], timeoutMs: number): Promise<PublishOutcome> {
  let state: OpenChannel;
  let missing: Map<string, string>;
  try {
    state = await relay.open();
    missing = await relay.missingExchanges(new Set(rows.map((row) => row.topic)));
  } catch (error) {
    const reason = `broker unavailable: ${(error as Error).message}`;
    return { confirmed: [], failures: rows.map((row) => ({ id: row.id, error: reason, counts: false })) };
  }
  const refused = rows.filter((row) => missing.has(row.topic)).map((row) => ({ id: row.id, error: missing.get(row.topic)!, counts: true }));
  const outcome = await sendAndConfirm(relay, state, rows.filter((row) => !missing.has(row.topic)), timeoutMs);
  outcome.failures.push(...refused);
  return outcome;
}
