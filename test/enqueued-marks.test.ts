import crypto from 'node:crypto';
import { expect } from 'chai';
import { insertReactions, type Reaction } from '../shared/db/queries/reactions.js';
import { createEvent } from '../shared/events/create-event.js';
import { EnqueuedMarks } from '../workers/relay/enqueued-marks.js';
import { testApp } from './support/hooks.js';
import { waitFor } from './support/wait-for.js';

const pool = () => testApp().services.pool;

async function stamped(eventIds: string[]): Promise<number> {
  const { rows } = await pool().query<{ n: number }>('SELECT count(*)::int AS n FROM reactions WHERE event_id = ANY($1::uuid[]) AND enqueued_at IS NOT NULL', [eventIds]);
  return rows[0]!.n;
}

async function recordedReactions(count: number): Promise<Reaction[]> {
  const reactions = Array.from({ length: count }, () => {
    const event = createEvent('ProfileUpdated', crypto.randomUUID(), { fields: 'display_name' });
    return { event_id: event.event_id, job_name: 'write-audit-log' as const, payload: event };
  });
  await insertReactions(pool(), reactions);
  return reactions;
}

describe('the relay stamping added reactions enqueued', () => {
  it('stamps what several adds handed it, by itself shortly after, and at once on flush', async () => {
    const marks = new EnqueuedMarks(pool(), testApp().services.log);
    const first = await recordedReactions(3);
    marks.add(first.slice(0, 1));
    marks.add(first.slice(1));
    await waitFor('the stamps', async () => ((await stamped(first.map((r) => r.event_id))) === 3 ? true : undefined), 5_000);

    const second = await recordedReactions(2);
    marks.add(second);
    await marks.flush();
    expect(await stamped(second.map((r) => r.event_id))).to.equal(2);
  });
});
