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

/** helmet()'s full set less what only an https install may send: HSTS and CSP's upgrade-insecure-requests. */
function withoutHttpsOnly(headers: Array<[string, string]>): Array<[string, string]> {
  return headers
    .filter(([name]) => name !== 'strict-transport-security')
    .map(([name, value]): [string, string] =>
      name === 'content-security-policy' ? [name, value.split(';').filter((directive) => directive.trim() !== 'upgrade-insecure-requests').join(';')] : [name, value],
    );
}

describe('security headers', () => {
  it('with an https PUBLIC_URL, sends exactly the headers helmet() sends, worked out once at startup', async () => {
    const precomputed = await headersSentWith(securityHeaders({ publicUrl: 'https://id.example.com' }));
    expect(precomputed).to.deep.equal(await headersSentWith(helmet()));
    expect(precomputed.map(([name]) => name)).to.include.members(['content-security-policy', 'strict-transport-security', 'x-frame-options']);
    expect(Object.fromEntries(precomputed)['content-security-policy']).to.include('upgrade-insecure-requests');
  });

  it('with an http PUBLIC_URL, sends neither Strict-Transport-Security nor upgrade-insecure-requests, and the rest of helmet\'s set', async () => {
    const precomputed = await headersSentWith(securityHeaders({ publicUrl: 'http://localhost:8001' }));
    const full = await headersSentWith(helmet());
    expect(precomputed).to.deep.equal(withoutHttpsOnly(full));
    const sent = Object.fromEntries(precomputed);
    expect(sent['strict-transport-security']).to.equal(undefined);
    expect(sent['content-security-policy']).to.include("default-src 'self'").and.include("form-action 'self'").and.not.include('upgrade-insecure-requests');
    expect(precomputed.length).to.equal(full.length - 1);
  });

  it('are on the API answers (PUBLIC_URL http here), the refused ones included', async () => {
    const expected = Object.fromEntries(
      withoutHttpsOnly(await headersSentWith(helmet())).filter(([name]) => !['connection', 'keep-alive', 'content-length', 'content-type'].includes(name)),
    );
    for (const response of [await request('GET', '/health'), await request('GET', '/no/such/route'), await request('POST', '/login', { json: {} })]) {
      for (const [name, value] of Object.entries(expected)) expect(response.headers.get(name), name).to.equal(value);
      expect(response.headers.get('strict-transport-security')).to.equal(null);
    }
  });
});
