/**
 * Bare Koa baseline, run as its own process on PORT: answers every request with the
 * JSON the API's GET /health answers, and nothing else (no middleware, no router).
 * With BARE_KOA_HEADERS=security it also sends what every API response carries besides:
 * helmet's headers (the API's own precomputed set) and a fresh x-request-id, so that the
 * cost of the headers themselves can be told apart from the cost of the middleware stack.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import Koa from 'koa';
import { securityHeaders } from '../../api/middleware/koa-security-headers.js';

const app = new Koa();
if (process.env.BARE_KOA_HEADERS === 'security') {
  // An https install's set, the larger one (with Strict-Transport-Security).
  app.use(securityHeaders({ publicUrl: 'https://localhost' }));
  app.use((ctx, next) => {
    ctx.set('x-request-id', crypto.randomUUID());
    return next();
  });
}
app.use((ctx) => {
  ctx.body = { status: 'ok' };
});
const server = http.createServer(app.callback());
server.listen(Number(process.env.PORT));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
