import net, { type AddressInfo } from 'node:net';
import type { Component } from '../shared/process/boot.js';
import { lowerHelperThreadPriority } from '../shared/process/thread-priority.js';
import { lazyQueueSet } from '../shared/queues/lazy-queue-set.js';
import type { Services } from '../shared/services.js';
import { createApp } from './app.js';
import { createApiServer } from './http-server.js';

/**
 * What the start log says about the bound address: the address itself (a wildcard one
 * as "every interface") and a URL that reaches it from this machine.
 */
function describeListening({ address, port }: AddressInfo): { where: string; url: string } {
  if (address === '::' || address === '0.0.0.0') return { where: `every interface (${address}) on port ${port}`, url: `http://localhost:${port}` };
  const host = net.isIPv6(address) ? `[${address}]` : address;
  return { where: `${host}:${port}`, url: `http://${host}:${port}` };
}

/**
 * Starts the HTTP API on HOST (every interface when unset) and PORT, with the queue
 * dashboard over the web process's own queues. stop() stops accepting, answers the
 * requests still waiting for a hashing slot with 503, waits for every request handler to
 * finish (so none runs on after the database pool is closed), then closes the server and
 * the queues.
 */
export async function startHttpServer(services: Services): Promise<Component> {
  const { config, log } = services;
  // The producer side: a dashboard request fails fast while Redis is away. Built by the first one.
  const queueSet = lazyQueueSet(config, log, 'producer');
  const handle = createApp(services, () => queueSet.queues()).callback();
  // Koa's handler promise settles when the middleware is done, even for a request whose
  // connection was cut: that, not the socket, is what must end before the pool does.
  const handlers = new Set<Promise<void>>();
  const server = createApiServer((req, res) => {
    const handler = handle(req, res).finally(() => handlers.delete(handler));
    handlers.add(handler);
  }, { ...config.http, trustProxyHops: config.trustProxyHops });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.port, host: config.host }, () => resolve());
  }).catch(async (error: unknown) => {
    await queueSet.close();
    throw error;
  });
  const bound = server.address() as AddressInfo;
  const { where, url } = describeListening(bound);
  // Hashing yields the CPU to the event loop: probes and the rest of each request stay fast under a login flood.
  const lowPriorityHelperThreads = lowerHelperThreadPriority();
  log.info(
    { address: bound.address, port: bound.port, url, low_priority_helper_threads: lowPriorityHelperThreads },
    `listening on ${where}: ${url}`,
  );

  return {
    name: 'http',
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      services.hasher.close();
      // Keep-alive connections turn idle as their last request is answered: close them then.
      server.closeIdleConnections();
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      // Requests still running after half the shutdown budget are cut off; their handlers
      // still run to the end (bounded by the budget itself, see boot).
      const cutoff = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs / 2);
      while (handlers.size > 0) await Promise.allSettled([...handlers]);
      await closed;
      clearInterval(idleSweep);
      clearTimeout(cutoff);
      await queueSet.close();
    },
  };
}
