import { expect } from 'chai';
import { request, type JsonResponse } from './support/http.js';

/** Every header but those that differ per response or per connection. */
const VARYING = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);
function stableHeaders(response: JsonResponse): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => !VARYING.has(name)));
}

describe('liveness fast path', () => {
  it('answers GET /health exactly as the full middleware stack answers the same probe', async () => {
    // HEAD is left to the router's /health route: the same headers, without the body.
    const [fast, routed] = await Promise.all([request('GET', '/health'), request('HEAD', '/health')]);
    expect(fast.status).to.equal(200);
    expect(fast.text).to.equal('{"status":"ok"}');
    expect(routed.status).to.equal(200);
    expect(routed.text).to.equal('');
    expect(stableHeaders(fast)).to.deep.equal(stableHeaders(routed));
    expect(fast.headers.get('content-security-policy')).to.include("default-src 'self'");
  });

  it('echoes a safe x-request-id and gives a fresh one otherwise', async () => {
    const echoed = await request('GET', '/health', { headers: { 'x-request-id': 'probe-42' } });
    expect(echoed.headers.get('x-request-id')).to.equal('probe-42');
    const [a, b] = await Promise.all([request('GET', '/health', { headers: { 'x-request-id': 'bad id!' } }), request('GET', '/health')]);
    expect(a.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    expect(b.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    expect(a.headers.get('x-request-id')).to.not.equal(b.headers.get('x-request-id'));
  });

  it('leaves other methods on /health to the router: HEAD 200, POST 405', async () => {
    expect((await request('HEAD', '/health')).status).to.equal(200);
    const post = await request('POST', '/health');
    expect(post.status).to.equal(405);
    expect(post.body.error.code).to.equal('method_not_allowed');
  });
});
