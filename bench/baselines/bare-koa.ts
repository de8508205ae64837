/**
 * Bare Koa baseline, run as its own process on PORT: answers every request with the
 * JSON the API's GET /health answers, and nothing else (no middleware, no router).
 */
import http from 'node:http';
import Koa from 'koa';

const app = new Koa();
app.use((ctx) => {
  ctx.body = { status: 'ok' };
});
const server = http.createServer(app.callback());
server.listen(Number(process.env.PORT));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
