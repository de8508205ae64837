import { z } from 'zod';
import { searchAuditLogs } from '../../shared/db/queries/audit-logs.js';
import { findSetAsideOutboxEvents } from '../../shared/db/queries/outbox.js';
import { findGivenUpReactions } from '../../shared/db/queries/reactions.js';
import { replayEvent } from '../../shared/domain/replay-event.js';
import { AppError } from '../../shared/errors.js';
import { defineRoute } from '../contract/route-declaration.js';
import { cursorParam, dateTimeParam, encodeCursor, limitParam, timestamp, uuid } from '../schemas.js';

/** Rows an operator's list of stuck events or reactions shows at most. */
const STUCK_LIST_LIMIT = 1_000;

const auditQuery = z.object({
  user_id: uuid.optional(),
  actor_id: uuid.optional(),
  action: z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/, { error: 'must be an action such as user.login' }).optional(),
  from: dateTimeParam,
  to: dateTimeParam,
  cursor: cursorParam(z.string().regex(/^\d{1,19}$/)).optional(),
  limit: limitParam,
});

const auditEntry = z.object({
  id: z.string(),
  event_id: z.uuid().nullable(),
  user_id: z.uuid().nullable(),
  actor_id: z.uuid().nullable(),
  action: z.string(),
  ip: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: timestamp,
});

export const searchAuditRoute = defineRoute({
  method: 'get',
  path: '/admin/audit',
  operationId: 'adminSearchAudit',
  summary: 'Search the audit log',
  description: 'Newest first, a page at a time (`next_cursor`). `actor_id` says who acted: the user, an administrator, or null for the system.',
  tag: 'Admin',
  access: 'role:admin',
  request: { query: auditQuery },
  responses: { 200: { description: 'A page of entries.', json: z.object({ entries: z.array(auditEntry), next_cursor: z.string().nullable() }) } },
}).handle(async ({ query, services }) => {
  const rows = await searchAuditLogs(services.pool, {
    userId: query.user_id,
    actorId: query.actor_id,
    action: query.action,
    from: query.from,
    to: query.to,
    after: query.cursor,
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const next = rows.length > query.limit ? encodeCursor(page[page.length - 1]!.position) : null;
  return { status: 200, body: { entries: page.map(({ position: _position, ...entry }) => entry), next_cursor: next } };
});

export const listFailedOutboxRoute = defineRoute({
  method: 'get',
  path: '/admin/outbox/failed',
  operationId: 'adminListFailedOutbox',
  summary: 'Events the relay set aside',
  description: 'Outbox rows that failed `OUTBOX_MAX_ATTEMPTS` publishes, oldest first, with their last error.',
  tag: 'Admin',
  access: 'role:admin',
  responses: {
    200: {
      description: 'The set-aside events.',
      json: z.object({
        events: z.array(z.object({ event_id: z.uuid(), type: z.string(), created_at: timestamp, failed_at: timestamp.nullable(), attempts: z.int(), last_error: z.string().nullable() })),
      }),
    },
  },
}).handle(async ({ services }) => {
  const rows = await findSetAsideOutboxEvents(services.pool, STUCK_LIST_LIMIT);
  return { status: 200, body: { events: rows.map(({ event_id, type, created_at, failed_at, attempts, last_error }) => ({ event_id, type, created_at, failed_at, attempts, last_error })) } };
});

export const listGivenUpReactionsRoute = defineRoute({
  method: 'get',
  path: '/admin/reactions/given-up',
  operationId: 'adminListGivenUpReactions',
  summary: 'Reactions that can never succeed as they are',
  description: 'Mail, audit and scoring jobs that failed as unrecoverable, newest first; replay one once its cause is fixed.',
  tag: 'Admin',
  access: 'role:admin',
  responses: {
    200: {
      description: 'The given-up reactions.',
      json: z.object({ reactions: z.array(z.object({ event_id: z.uuid(), job_name: z.string(), given_up_at: timestamp, last_error: z.string().nullable() })) }),
    },
  },
}).handle(async ({ services }) => ({ status: 200, body: { reactions: await findGivenUpReactions(services.pool, STUCK_LIST_LIMIT) } }));

const replayBody = z.object({
  event_id: z.uuid(),
  type: z.string(),
  replayed: z.enum(['publish', 'reactions']).meta({ description: '`publish`: the relay publishes it again; `reactions`: it was published, and its given-up reactions run again.' }),
  reactions: z.array(z.string()),
});

function replayRoute(path: string, operationId: string, summary: string) {
  return defineRoute({
    method: 'post',
    path,
    operationId,
    summary,
    description: 'What `npm run outbox:replay -- <event_id>` does: an unpublished event is published again within a second (attempts cleared); for a published one, its given-up reactions run again.',
    tag: 'Admin',
    access: 'role:admin',
    limit: { action: 'admin', account: 'user' },
    request: { params: z.object({ event_id: uuid }) },
    responses: { 200: { description: 'Back in line.', json: replayBody } },
    errors: ['not_found'],
  }).handle(async ({ params, services }) => {
    const outcome = await replayEvent(services.pool, params.event_id.toLowerCase());
    if (outcome.kind === 'unknown') throw new AppError('not_found');
    const reactions = outcome.kind === 'reactions' ? outcome.reactions : [];
    return { status: 200, body: { event_id: outcome.event.event_id, type: outcome.event.type, replayed: outcome.kind === 'reactions' ? 'reactions' : 'publish', reactions } };
  });
}

export const replayOutboxRoute = replayRoute('/admin/outbox/:event_id/replay', 'adminReplayOutboxEvent', 'Publish a set-aside event again');
export const replayReactionsRoute = replayRoute('/admin/reactions/:event_id/replay', 'adminReplayReactions', 'Run an event\'s given-up reactions again');
