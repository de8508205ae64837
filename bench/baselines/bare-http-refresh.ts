/**
 * Bare HTTP refresh baseline, run as its own process on PORT: node:http alone serving
 * POST /token/refresh {refresh_token} with the refresh of raw-refresh.ts and the
 * contract's token body; GET /health answers 200 so the bench can tell it is up. No Koa,
 * no middleware, no validation beyond JSON.parse, no rate limit, no log. It is the least
 * any HTTP service can do for a refresh, so the bench's API ÷ raw ratio can be read
 * against the same ratio for a server that does nothing else.
 */
import http from 'node:http';
import { rawRefresher } from './raw-refresh.js';

const refresher = rawRefresher(process.env);

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

const server = http.createServer((request, response) => {
  if (request.method !== 'POST') return send(response, 200, { status: 'ok' });
  let text = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => (text += chunk));
  request.on('end', () => {
    const presented = (JSON.parse(text) as { refresh_token: string }).refresh_token;
    refresher.refresh(presented).then(
      (issued) =>
        send(response, 200, { token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn, refresh_token: issued.refreshToken }),
      (error: Error) => send(response, 401, { error: 'invalid_token', message: error.message }),
    );
  });
});
server.listen(Number(process.env.PORT));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void refresher.end().then(() => process.exit(0)));
});
