import Router from '@koa/router';
import { createReadinessCheck } from '../../shared/health/readiness.js';
import type { Services } from '../../shared/services.js';
import { LIVENESS_BODY } from '../middleware/koa-liveness.js';

/** Liveness and readiness: the unauthenticated probes. */
export function healthRoutes(services: Services): Router {
  const readiness = createReadinessCheck(services);
  return new Router()
    .get('/health', (ctx) => {
      ctx.body = LIVENESS_BODY;
    })
    .get('/ready', async (ctx) => {
      const { ready, checks } = await readiness();
      ctx.status = ready ? 200 : 503;
      ctx.body = { status: ready ? 'ok' : 'unavailable', checks };
    });
}
