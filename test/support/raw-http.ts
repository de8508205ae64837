import http from 'node:http';
import { testApp } from './hooks.js';
import type { JsonResponse } from './http.js';

export interface RawRequest {
  method?: string;
  path: string;
  /** Sent exactly as given: no content-type or content-length is added. */
  headers?: Record<string, string>;
  /** Written in one piece, or chunk by chunk (chunked transfer unless content-length is set). */
  body?: string | Buffer | Array<string | Buffer>;
  /** Another server than the test app. */
  baseUrl?: string;
}

/**
 * A request through node:http, for what fetch will not send: no content-type, chunked
 * bodies, or a huge body the server refuses before reading. The response is read even
 * when the server answered early and cut the upload short.
 */
export function rawRequest({ method = 'POST', path, headers = {}, body, baseUrl }: RawRequest): Promise<JsonResponse> {
  const url = new URL(path, baseUrl ?? testApp().url);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text, body: parsed as any });
      });
    });
    // An early answer closes the socket while we still write: that is expected, not a failure.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    const parts = body === undefined ? [] : Array.isArray(body) ? body : [body];
    for (const part of parts) req.write(part);
    req.end();
  });
}
