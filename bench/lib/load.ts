import http from 'node:http';
import autocannon from 'autocannon';

export interface Request {
  method: 'GET' | 'POST';
  path: string;
  /** JSON text, sent as application/json. */
  body?: string;
}

function headersOf(request: Request): Record<string, string> {
  return request.body === undefined ? {} : { 'content-type': 'application/json' };
}

export interface ClosedLoopResult {
  /** 2xx responses per second. */
  ok_per_second: number;
  p99_ms: number;
  /** Response counts by status code, plus "errors" and "timeouts" when there were any. */
  statuses: Record<string, number>;
}

/**
 * autocannon: `connections` keep-alive connections, each sending its next request as
 * soon as the last one answered, for `seconds`; the requests are taken in turn.
 */
export async function closedLoop(url: string, requests: Request[], connections: number, seconds: number): Promise<ClosedLoopResult> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 30,
    requests: requests.map((r) => ({ method: r.method, path: r.path, headers: headersOf(r), ...(r.body === undefined ? {} : { body: r.body }) })),
  });
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statuses[code] = count;
  if (result.errors) statuses.errors = result.errors;
  if (result.timeouts) statuses.timeouts = result.timeouts;
  return { ok_per_second: result['2xx'] / result.duration, p99_ms: result.latency.p99, statuses };
}

export interface FixedRateResult {
  rate: number;
  samples: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** p99 of how late this generator sent requests (its own share of the latency). */
  send_late_p99_ms: number;
  statuses: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * An open-loop load: request i is due at start + i/rate (evenly spaced) and is sent then,
 * whatever the earlier ones are doing, over up to `sockets` keep-alive connections.
 * Latency counts from the due time to the end of the response, so a slow server (or a
 * late generator) cannot hide queueing. Requests due in the first `warmupSeconds` are
 * sent but not counted. autocannon's own rate option sends each second's quota in a burst
 * at the start of the second, which is not a fixed rate; hence this.
 */
export async function fixedRate(url: string, requests: Request[], rate: number, seconds: number, sockets = 64, warmupSeconds = 1): Promise<FixedRateResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const latencies: number[] = [];
  const late: number[] = [];
  const statuses: Record<string, number> = {};
  const count = (key: string) => (statuses[key] = (statuses[key] ?? 0) + 1);
  const total = Math.round(rate * (seconds + warmupSeconds));
  const start = performance.now() + 20;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const request = requests[i % requests.length]!;
    if (i >= rate * warmupSeconds) late.push(Math.max(0, performance.now() - due));
    pending.push(
      new Promise<void>((resolve) => {
        const req = http.request(`${url}${request.path}`, { method: request.method, agent, headers: headersOf(request), timeout: 30_000 }, (res) => {
          res.resume();
          res.on('end', () => {
            count(String(res.statusCode));
            if (i >= rate * warmupSeconds && res.statusCode! < 300) latencies.push(performance.now() - due);
            resolve();
          });
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => {
          count('errors');
          resolve();
        });
        req.end(request.body);
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  late.sort((a, b) => a - b);
  const p = (q: number) => percentile(latencies, q);
  return { rate, samples: latencies.length, p50_ms: p(50), p99_ms: p(99), max_ms: latencies.at(-1) ?? NaN, send_late_p99_ms: percentile(late, 99), statuses };
}
