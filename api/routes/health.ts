import { z } from 'zod';
import { defineRoute } from '../contract/route-declaration.js';
import { LIVENESS_BODY } from '../middleware/koa-liveness.js';

/*
 * The unauthenticated probes. GET /health is answered by the liveness fast path
 * (koa-liveness.ts) before routing; this declaration serves HEAD, debug-level logging
 * and the reference.
 */

export const healthRoute = defineRoute({
  method: 'get',
  path: '/health',
  operationId: 'health',
  summary: 'Liveness',
  description: 'The process answers HTTP; nothing else is checked.',
  tag: 'Probes',
  access: 'public',
  responses: { 200: { description: 'Alive.', json: z.object({ status: z.literal('ok') }) } },
}).handle(() => {
  return { status: 200, body: LIVENESS_BODY };
});

const checkState = z.enum(['ok', 'degraded', 'failed']);
const readinessBody = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ postgres: checkState, redis: checkState, rabbitmq: checkState }),
});

export const readyRoute = defineRoute({
  method: 'get',
  path: '/ready',
  operationId: 'ready',
  summary: 'Readiness',
  description: 'Only PostgreSQL is required: with Redis or RabbitMQ away the API still works (queues and shared limits degrade), so they show as `degraded` with 200.',
  tag: 'Probes',
  access: 'public',
  responses: {
    200: { description: 'Ready.', json: readinessBody, example: { status: 'ok', checks: { postgres: 'ok', redis: 'ok', rabbitmq: 'ok' } } },
    503: { description: 'PostgreSQL does not answer.', json: readinessBody },
  },
}).handle(async ({ services }) => {
  const { ready, checks } = await services.readiness();
  return ready ? { status: 200, body: { status: 'ok', checks } } : { status: 503, body: { status: 'unavailable', checks } };
});
