import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../shared/config/config.js';
import { AppError, errorBody } from '../shared/errors.js';
import { ipLimitKey } from '../shared/rate-limit/client-keys.js';
import { rateLimitedError } from '../shared/rate-limit/rate-limited-error.js';

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 503: 'Service Unavailable' };

/** What Node's parser refused, as the contract's error with the status HTTP gives it. */
function refusal(code: string | undefined): AppError {
  if (code === 'HPE_HEADER_OVERFLOW') return new AppError('invalid_request', { message: 'The request headers are too large.', status: 431 });
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('invalid_request', { message: 'The request did not arrive in time.', status: 408 });
  return new AppError('invalid_request', { message: 'The request is not valid HTTP.' });
}

/** The contract's error as a whole response with its own head, for answers given before the app sees a request. */
function errorResponse(refused: AppError): string {
  const body = JSON.stringify(errorBody(refused));
  const extra = Object.entries(refused.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return (
    `HTTP/1.1 ${refused.status} ${REASONS[refused.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n${extra}` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * The server's 'clientError' handler: what Node's HTTP parser refuses before the app
 * sees a request (a malformed request line or header, headers over the size limit, a
 * request too slow to arrive) gets the contract's error body instead of Node's bare
 * status line, and the connection closes. There is no request, so no request id.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(errorResponse(refusal(error.code)));
}

export type HttpServerSettings = Config['http'] & Pick<Config, 'trustProxyHops'>;

/** How long a refused connection is given to take its answer before it is closed. */
const REFUSED_LINGER_MS = 1_000;

/**
 * Open connections per client address and in total: past a cap, a new connection is
 * answered at once with the contract's error (429 rate_limited per address, 503
 * unavailable in total, each with Retry-After) and closed; a request that arrives on it
 * anyway is never handed to the app. Behind a trusted proxy every connection comes from
 * the proxy, so only the total applies.
 */
function capConnections(server: http.Server, settings: HttpServerSettings): (socket: net.Socket) => boolean {
  const perIp = new Map<string, number>();
  let open = 0;
  const refused = new WeakSet<net.Socket>();
  const refuse = (socket: net.Socket, error: AppError) => {
    refused.add(socket);
    socket.end(errorResponse(error));
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  };
  server.prependListener('connection', (socket: net.Socket) => {
    const key = settings.trustProxyHops > 0 ? undefined : ipLimitKey(socket.remoteAddress);
    if (open >= settings.maxConnections) {
      refuse(socket, new AppError('unavailable', { message: 'The service has too many open connections; try again shortly.', headers: { 'Retry-After': '1' } }));
      return;
    }
    if (key !== undefined && (perIp.get(key) ?? 0) >= settings.maxConnectionsPerIp) {
      refuse(socket, rateLimitedError(1, 'Too many open connections from this address'));
      return;
    }
    open++;
    if (key !== undefined) perIp.set(key, (perIp.get(key) ?? 0) + 1);
    socket.once('close', () => {
      open--;
      if (key === undefined) return;
      const left = (perIp.get(key) ?? 1) - 1;
      if (left > 0) perIp.set(key, left);
      else perIp.delete(key);
    });
  });
  return (socket) => refused.has(socket);
}

/**
 * An HTTP server for the API's request handler (the web process's and the tests'):
 * parser refusals answered in the contract; a request's headers and the whole request
 * bounded in time (Node checks both every connectionsCheckingInterval, so that is kept
 * at a second or less), answered 408 in the contract; open connections capped per client
 * address and in total. Node's own check for a missing Host header answers a bare 400,
 * so the server asks it here instead and answers in the contract.
 */
export function createApiServer(handler: http.RequestListener, settings: HttpServerSettings): http.Server {
  const noHost = new AppError('invalid_request', { message: 'The request has no Host header.' });
  let isRefused: (socket: net.Socket) => boolean = () => false;
  const server = http
    .createServer(
      {
        requireHostHeader: false,
        headersTimeout: settings.headersTimeoutMs,
        requestTimeout: settings.requestTimeoutMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(settings.headersTimeoutMs / 4))),
      },
      (req, res) => {
        if (isRefused(req.socket)) {
          req.socket.destroy();
          return;
        }
        if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
          res.shouldKeepAlive = false;
          const body = JSON.stringify(errorBody(noHost));
          res.writeHead(400, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff', Connection: 'close' });
          res.end(body);
          return;
        }
        handler(req, res);
      },
    )
    .on('clientError', answerClientError);
  isRefused = capConnections(server, settings);
  return server;
}
