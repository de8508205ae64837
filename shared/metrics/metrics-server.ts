import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';

/** The metrics listener could not bind (the port is taken, the address is not this machine's). */
export class MetricsListenError extends Error {}

export interface MetricsServer {
  address: AddressInfo;
  stop(): Promise<void>;
}

/**
 * A plain node:http listener that serves only `GET /metrics` (and HEAD) from the
 * process's registry: the public API never carries it, and a worker process, which
 * serves no HTTP otherwise, gets one without Koa.
 */
export async function startMetricsServer(registry: Registry, listen: { port: number; host: string }, log: Logger): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found: this listener serves GET /metrics only.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method not allowed.\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        log.error({ err: error }, 'collecting metrics failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Collecting metrics failed.\n');
      },
    );
  });
  // Prometheus keeps its connection open between scrapes (15 s apart by default); stop() cuts it.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(new MetricsListenError(`cannot serve metrics on ${listen.host}:${listen.port} (METRICS_HOST, METRICS_PORT): ${error.message}`));
    server.once('error', failed);
    server.listen({ port: listen.port, host: listen.host }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info({ address: address.address, port: address.port }, `metrics on http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`);
  return {
    address,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
