import Router from '@koa/router';
import Koa from 'koa';
import type { Services } from '../shared/services.js';
import { clientIp } from './middleware/koa-client-ip.js';
import { errorHandler } from './middleware/koa-error-handler.js';
import { jsonBody } from './middleware/koa-json-body.js';
import { liveness } from './middleware/koa-liveness.js';
import { requestContextMiddleware } from './middleware/koa-request-context.js';
import { securityHeaders } from './middleware/koa-security-headers.js';
import { accountRoutes } from './routes/account.js';
import { authRoutes } from './routes/auth.js';
import { EMAIL_VERIFICATION_FORM_PATHS, emailVerificationRoutes } from './routes/email-verification.js';
import { healthRoutes } from './routes/health.js';
import { jwksRoutes } from './routes/jwks.js';
import { meRoutes } from './routes/me.js';
import { profileRoutes } from './routes/profile.js';
import { PASSWORD_RESET_FORM_PATHS, passwordResetRoutes } from './routes/password-reset.js';
import { SECURITY_FORM_PATHS, securityRoutes } from './routes/security.js';
import { sessionRoutes } from './routes/sessions.js';
import { tokenRoutes } from './routes/tokens.js';

export const JSON_BODY_LIMIT = 64 * 1024;

/** The HTTP API as a Koa app over the given services; listening is the caller's job. */
export function createApp(services: Services): Koa {
  const app = new Koa();
  // Errors are answered and logged by errorHandler; Koa's own printer stays quiet.
  app.silent = true;
  // Every response carries the security headers, the liveness probe's fast path included.
  app.use(securityHeaders());
  app.use(liveness(services.log));
  app.use(clientIp(services.config.trustProxyHops));
  app.use(requestContextMiddleware(services.log));
  // The HTML pages' forms post urlencoded bodies to their own routes, and get pages back, errors
  // included; everything else takes JSON.
  const formPaths = [...EMAIL_VERIFICATION_FORM_PATHS, ...PASSWORD_RESET_FORM_PATHS, ...SECURITY_FORM_PATHS];
  app.use(errorHandler(services.log, formPaths));
  app.use(jsonBody({ limit: JSON_BODY_LIMIT, formPaths }));
  // One root router: a request is matched once against every route, not once per router.
  const root = new Router();
  for (const router of [healthRoutes(services), jwksRoutes(services), authRoutes(services), tokenRoutes(services), meRoutes(services), sessionRoutes(services), profileRoutes(services), accountRoutes(services), emailVerificationRoutes(services), passwordResetRoutes(services), securityRoutes(services)]) {
    root.use(router.routes());
  }
  app.use(root.routes());
  // 405 and 501 come back without a body (405 with its Allow header); errorHandler adds the contract's body.
  app.use(root.allowedMethods());
  return app;
}
