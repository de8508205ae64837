import { loadConfig } from '../shared/config/config.js';
import { loadDotenv } from '../shared/config/dotenv.js';
import { createPool, type Pool } from '../shared/db/pool.js';
import { findSetAsideOutboxEvents, type OutboxEventState } from '../shared/db/queries/outbox.js';
import { findGivenUpReactions } from '../shared/db/queries/reactions.js';
import { replayEvent } from '../shared/domain/replay-event.js';

/**
 * `npm run outbox:replay -- <event_id>`: puts an outbox event that was set aside (or is
 * still failing) back in line, attempts cleared; the relay publishes it within a second.
 * For an event already published, puts its given-up reactions (mail, audit, scoring
 * that failed as unrecoverable) back in line for the relay's reaction sweep.
 * `npm run outbox:replay -- --list` shows both. Exit codes: 0 done, 1 unknown event or
 * failure, 2 bad usage.
 */
const USAGE = 'usage: npm run outbox:replay -- <event_id>   (or --list to show the events and reactions set aside)';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function describe(row: OutboxEventState): string {
  return `${row.event_id}  ${row.type}  created ${row.created_at.toISOString()}  attempts ${row.attempts}  last error: ${row.last_error ?? '-'}`;
}

async function list(pool: Pool): Promise<number> {
  const rows = await findSetAsideOutboxEvents(pool, 1_000);
  if (rows.length === 0) process.stdout.write('no outbox events are set aside\n');
  for (const row of rows) process.stdout.write(`${describe(row)}\n`);
  const reactions = await findGivenUpReactions(pool, 1_000);
  if (reactions.length === 0) process.stdout.write('no reactions are given up\n');
  for (const reaction of reactions) {
    process.stdout.write(`${reaction.event_id}  reaction ${reaction.job_name}  given up ${reaction.given_up_at.toISOString()}  last error: ${reaction.last_error ?? '-'}\n`);
  }
  return 0;
}

async function replay(pool: Pool, eventId: string): Promise<number> {
  const outcome = await replayEvent(pool, eventId);
  if (outcome.kind === 'unknown') {
    process.stderr.write(`no outbox event has event_id ${eventId}\n`);
    return 1;
  }
  const { event } = outcome;
  if (outcome.kind === 'reactions') {
    const what = outcome.reactions.length > 0 ? `its given-up reactions (${outcome.reactions.join(', ')}) are queued to run again` : 'nothing to replay';
    process.stdout.write(`event ${eventId} (${event.type}) was already published at ${event.published_at!.toISOString()}; ${what}\n`);
    return 0;
  }
  const was = event.failed_at ? `set aside since ${event.failed_at.toISOString()}` : 'pending';
  process.stdout.write(`event ${eventId} (${event.type}, ${was}, ${event.attempts} attempts, last error: ${event.last_error ?? '-'}) is queued for publishing again\n`);
  return 0;
}

async function main(args: string[]): Promise<number> {
  const target = args.find((arg) => arg !== '--');
  if (!target || args.filter((arg) => arg !== '--').length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (target !== '--list' && !UUID.test(target)) {
    process.stderr.write(`"${target}" is not an event_id (a UUID such as 0b9f6c1e-5d2a-4f57-9a63-2f1d8e0c4b7a)\n${USAGE}\n`);
    return 2;
  }
  loadDotenv();
  const config = loadConfig();
  const pool = createPool({ ...config.database, poolMax: 1 }, 'user-services-outbox-replay');
  try {
    return target === '--list' ? await list(pool) : await replay(pool, target.toLowerCase());
  } finally {
    await pool.end();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`outbox replay failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
