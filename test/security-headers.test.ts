import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa, { type Middleware } from 'koa';
import helmet from 'koa-helmet';
import { securityHeaders } from '../api/middleware/koa-security-headers.js';
import { request } from './support/http.js';

/** The headers a one-middleware Koa app sends before answering a JSON body. */
async function headersSentWith(middleware: Middleware): Promise<Array<[string, string]>> {
  const app = new Koa();
  app.use(middleware);
  app.use((ctx) => {
    ctx.body = { status: 'ok' };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await response.text();
    return [...response.headers].filter(([name]) => name !== 'date');
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

describe('security headers', () => {
  it('sends exactly the headers helmet() sends, worked out once at startup', async () => {
    const precomputed = await headersSentWith(securityHeaders());
    expect(precomputed).to.deep.equal(await headersSentWith(helmet()));
    expect(precomputed.map(([name]) => name)).to.include.members(['content-security-policy', 'strict-transport-security', 'x-frame-options']);
  });

  it('are on the API answers, the refused ones included', async () => {
    const expected = Object.fromEntries((await headersSentWith(helmet())).filter(([name]) => !['connection', 'keep-alive', 'content-length', 'content-type'].includes(name)));
    for (const response of [await request('GET', '/health'), await request('GET', '/no/such/route'), await request('POST', '/login', { json: {} })]) {
      for (const [name, value] of Object.entries(expected)) expect(response.headers.get(name), name).to.equal(value);
    }
  });
});
