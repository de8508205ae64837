import Koa from 'koa';
import helmet from 'koa-helmet';
import type { Services } from '../shared/services.js';
import { clientIp } from './middleware/koa-client-ip.js';
import { errorHandler } from './middleware/koa-error-handler.js';
import { jsonBody } from './middleware/koa-json-body.js';
import { requestContextMiddleware } from './middleware/koa-request-context.js';
import { authRoutes } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { meRoutes } from './routes/me.js';

export const JSON_BODY_LIMIT = 64 * 1024;

/** The HTTP API as a Koa app over the given services; listening is the caller's job. */
export function createApp(services: Services): Koa {
  const app = new Koa();
  // Errors are answered and logged by errorHandler; Koa's own printer stays quiet.
  app.silent = true;
  app.use(clientIp(services.config.trustProxyHops));
  app.use(requestContextMiddleware(services.log));
  app.use(errorHandler(services.log));
  app.use(helmet());
  app.use(jsonBody({ limit: JSON_BODY_LIMIT }));
  for (const router of [healthRoutes(services), authRoutes(services), meRoutes(services)]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
