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
  const body = JSON.stringify(errorBody(refused));
  socket.end(
    `HTTP/1.1 ${refused.status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** An HTTP server for the API's request handler, parser refusals answered in the contract (the web process's and the tests'). */
export function createApiServer(handler: http.RequestListener): http.Server {
  return http.createServer(handler).on('clientError', answerClientError);
}
