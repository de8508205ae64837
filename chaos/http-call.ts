import http from 'node:http';

export type Outcome =
  | { kind: 'answer'; status: number; retryAfter: string | undefined; body: Record<string, unknown> }
  /** No answer within the timeout. */
  | { kind: 'hang' }
  /** The connection was reset or closed before an answer. */
  | { kind: 'reset'; code: string }
  | { kind: 'refused' };

/**
 * One request on a connection of its own (no keep-alive, so a backend closing an idle
 * connection cannot be mistaken for a fault), with a hard timeout after which it counts
 * as hung.
 */
export function call(port: number, method: string, path: string, options: { json?: unknown; token?: string; timeoutMs?: number } = {}): Promise<Outcome> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  const headers: Record<string, string> = { connection: 'close' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const request = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error: NodeJS.ErrnoException) => settle({ kind: 'reset', code: error.code ?? error.message }));
      response.on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          // An empty (204) or non-JSON body.
        }
        const retryAfter = response.headers['retry-after'];
        settle({ kind: 'answer', status: response.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, body: parsed });
      });
    });
    const timer = setTimeout(() => {
      settle({ kind: 'hang' });
      request.destroy();
    }, options.timeoutMs ?? 15_000);
    request.on('error', (error: NodeJS.ErrnoException) => settle(error.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'reset', code: error.code ?? error.message }));
    request.end(body);
  });
}
