import Router from '@koa/router';
import Koa from 'koa';
import type { Queues } from '../shared/queues/queues.js';
import type { Services } from '../shared/services.js';
import { queueDashboard } from './dashboard/queue-dashboard.js';
import { clientIp } from './middleware/koa-client-ip.js';
import { errorHandler } from './middleware/koa-error-handler.js';
import { httpMetrics } from './middleware/koa-http-metrics.js';
import { jsonBody } from './middleware/koa-json-body.js';
import { liveness } from './middleware/koa-liveness.js';
import { requestContextMiddleware } from './middleware/koa-request-context.js';
import { securityHeaders } from './middleware/koa-security-headers.js';
import { appRoutes } from './route-table.js';
import { mountRoutes } from './contract/mount-routes.js';
import type { AppState } from './app-state.js';

export const JSON_BODY_LIMIT = 64 * 1024;

/**
 * The HTTP API as a Koa app over the given services, with the queue dashboard over the
 * web process's queues (asked for on the dashboard's first request; built once by the
 * caller, who closes them); listening is the caller's job too.
 */
export function createApp(services: Services, queues: () => Promise<Queues>): Koa<AppState> {
  const routes = appRoutes(services.config);
  const webauthnOff = services.config.webauthn.unavailableReason;
  if (webauthnOff) services.log.warn({ rp_id: services.config.webauthn.rpId }, `WebAuthn is off: ${webauthnOff}. Its routes answer 503; everything else works.`);
  const app = new Koa<AppState>();
  // Errors are answered and logged by errorHandler; Koa's own printer stays quiet.
  app.silent = true;
  // Outermost, so the duration and status are those the client saw, errors and probes included.
  app.use(httpMetrics(services.metrics.httpRequestDuration));
  // Every response carries the security headers, the liveness probe's fast path included.
  app.use(securityHeaders(services.config));
  app.use(liveness(services.log));
  app.use(clientIp(services.config.trustProxyHops));
  app.use(requestContextMiddleware(services.log));
  // The HTML pages' forms post urlencoded bodies to their own routes, and get pages back, errors
  // included; everything else takes JSON.
  const formPaths = routes.filter((route) => route.request?.form).map((route) => route.path);
  app.use(errorHandler(services.log, formPaths, services.databaseOutage));
  app.use(jsonBody({ limit: JSON_BODY_LIMIT, formPaths }));
  // Bull Board reads the bodies jsonBody parsed (its own parser skips a parsed one), under the same limits.
  app.use(queueDashboard(services, queues));
  // One root router: a request is matched once against every route, not once per router.
  // Strict: /password/reset/ is not /password/reset, whose page's relative form would post to /password/reset/reset.
  const root = new Router<AppState>({ strict: true });
  mountRoutes(root, routes, services);
  app.use(root.routes());
  // 405 and 501 come back without a body (405 with its Allow header); errorHandler adds the contract's body.
  app.use(root.allowedMethods());
  return app;
}
