import http from 'node:http';
import type { Component } from '../shared/process/boot.js';
import type { Services } from '../shared/services.js';
import { createApp } from './app.js';

/** Starts the HTTP API on PORT; stop() finishes requests in flight, then closes. */
export async function startHttpServer(services: Services): Promise<Component> {
  const { config, log } = services;
  const server = http.createServer(createApp(services).callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info({ port }, `listening on http://localhost:${port}`);

  return {
    name: 'http',
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Requests still running after half the shutdown budget are cut off.
      const cutoff = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs / 2);
      await closed;
      clearTimeout(cutoff);
    },
  };
}
