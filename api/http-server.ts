import http from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, errorBody } from '../shared/errors.js';

/** What Node's parser refused, as the contract's error with the status HTTP gives it. */
function refusal(code: string | undefined): { error: AppError; reason: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { error: new AppError('invalid_request', { message: 'The request headers are too large.', status: 431 }), reason: 'Request Header Fields Too Large' };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { error: new AppError('invalid_request', { message: 'The request did not arrive in time.', status: 408 }), reason: 'Request Timeout' };
  }
  return { error: new AppError('invalid_request', { message: 'The request is not valid HTTP.' }), reason: 'Bad Request' };
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
  const { error: refused, reason } = refusal(error.code);
  socket.end(errorResponse(refused, reason));
}

/** The contract's error as a whole response with its own head, for answers given before the app sees the request. */
function errorResponse(refused: AppError, reason: string): string {
  const body = JSON.stringify(errorBody(refused));
  return (
    `HTTP/1.1 ${refused.status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * An HTTP server for the API's request handler, parser refusals answered in the contract
 * (the web process's and the tests'). Node's own check for a missing Host header answers
 * a bare 400, so the server asks it here instead and answers in the contract.
 */
export function createApiServer(handler: http.RequestListener): http.Server {
  const noHost = new AppError('invalid_request', { message: 'The request has no Host header.' });
  return http
    .createServer({ requireHostHeader: false }, (req, res) => {
      if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
        res.shouldKeepAlive = false;
        const body = JSON.stringify(errorBody(noHost));
        res.writeHead(400, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff', Connection: 'close' });
        res.end(body);
        return;
      }
      handler(req, res);
    })
    .on('clientError', answerClientError);
}
