import net from 'node:net';
import { expect } from 'chai';
import { expectFailure, expectNoRowChange } from './support/expectations.js';
import { testApp } from './support/hooks.js';
import { randomEmail, request, strongPassword, type JsonResponse } from './support/http.js';
import { rawRequest } from './support/raw-http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One request of each kind: successes and every family of failure. */
const SAMPLES: Array<[string, () => Promise<JsonResponse>]> = [
  ['GET /health', () => request('GET', '/health')],
  ['GET /ready', () => request('GET', '/ready')],
  ['GET /.well-known/jwks.json', () => request('GET', '/.well-known/jwks.json')],
  ['404', () => request('GET', '/no/such/route')],
  ['405', () => request('PUT', '/login', { json: {} })],
  ['400 invalid_request', () => request('POST', '/login', { json: {} })],
  ['400 invalid_json', () => request('POST', '/login', { raw: '{', headers: { 'content-type': 'application/json' } })],
  ['401', () => request('GET', '/me')],
  ['413', () => request('POST', '/login', { raw: 'x'.repeat(70_000), headers: { 'content-type': 'application/json' } })],
  ['415', () => request('POST', '/login', { raw: 'x', headers: { 'content-type': 'text/plain' } })],
];

describe('edge: routes, headers and probes', () => {
  it('answers an unknown route with 404 not_found in the error body', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/nope'],
      ['GET', '/register/extra'],
      ['DELETE', '/'],
      ['GET', '/%2e%2e/etc/passwd'],
    ]) {
      const response = await expectNoRowChange(() => request(method!, path!));
      expectFailure(response, 404, 'not_found');
    }
  });

  it('answers a known route with the wrong method in the error body and an Allow header, never 5xx', async () => {
    for (const [method, path, allow] of [
      ['GET', '/register', 'POST'],
      ['PUT', '/login', 'POST'],
      ['POST', '/health', 'HEAD, GET'],
      ['PUT', '/me', 'HEAD, GET, DELETE'],
    ]) {
      const response = await request(method!, path!);
      expect(response.status, `${method} ${path}`).to.equal(405);
      expectFailure(response, 405, 'method_not_allowed');
      expect(response.headers.get('allow'), `${method} ${path}`).to.equal(allow);
    }
  });

  it('answers what the HTTP parser refuses in the error body too, and closes the connection', async () => {
    const send = (raw: string) =>
      new Promise<string>((resolve, reject) => {
        const { hostname, port } = new URL(testApp().url);
        const socket = net.connect(Number(port), hostname, () => socket.end(raw));
        let text = '';
        socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
    const parse = (text: string) => {
      const [head, body] = text.split('\r\n\r\n');
      return { status: Number(head!.split(' ')[1]), head: head!, body: JSON.parse(body!) };
    };
    const badHeader = parse(await send('GET /me HTTP/1.1\r\nHost: x\r\nContent-Type: \x7f\r\n\r\n'));
    expect(badHeader.status).to.equal(400);
    expect(badHeader.head).to.match(/\r\ncontent-type: application\/json/i);
    expect(badHeader.body).to.deep.equal({ message: 'fail', error: { code: 'invalid_request', message: 'The request is not valid HTTP.' } });
    const hugeHeader = parse(await send(`GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(hugeHeader.status).to.equal(431);
    expect(hugeHeader.body.error.code).to.equal('invalid_request');
    expect(parse(await send('get /health HTTP/1.1\r\nHost: x\r\n\r\n')).status).to.equal(400);
  });

  it('answers an HTTP/1.1 request without a Host header with the contract\'s 400, not Node\'s bare one', async () => {
    const { hostname, port } = new URL(testApp().url);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => socket.write('GET /health HTTP/1.1\r\nConnection: close\r\n\r\n'));
      let received = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    const [head, body] = text.split('\r\n\r\n');
    expect(Number(head!.split(' ')[1]), head).to.equal(400);
    expect(head).to.match(/\r\ncontent-type: application\/json/i);
    expect(JSON.parse(body!)).to.deep.equal({ message: 'fail', error: { code: 'invalid_request', message: 'The request has no Host header.' } });
  });

  it('does not serve a page under a trailing slash, whose relative form would post to the wrong path', async () => {
    for (const path of ['/password/reset/?token=abc', '/email/verify/?token=abc']) {
      const response = await request('GET', path);
      expect(response.text, path).to.not.match(/action="reset"|action="verify"/);
      expectFailure(response, 404, 'not_found');
    }
    expectFailure(await request('POST', '/login/', { json: {} }), 404, 'not_found');
  });

  it('answers a method no route knows with 501 not_implemented in the error body, never 500', async () => {
    for (const path of ['/login', '/health', '/nowhere']) {
      const response = await request('PROPFIND', path);
      expectFailure(response, 501, 'not_implemented');
    }
  });

  it('gives equal failures byte-equal bodies', async () => {
    const pairs: Array<() => Promise<JsonResponse>> = [
      () => request('GET', `/missing-${Math.random()}`),
      () => request('POST', '/register', { json: { email: 'not an email', password: strongPassword() } }),
      () => request('POST', '/login', { json: { email: randomEmail(), password: strongPassword() } }),
      () => request('POST', '/login', { raw: '{"a":', headers: { 'content-type': 'application/json' } }),
      () => request('GET', '/me', { headers: { authorization: 'Bearer a.b.c' } }),
    ];
    for (const send of pairs) {
      const [first, second] = [await send(), await send()];
      expect(first.status).to.be.within(400, 499);
      expect(second.text).to.equal(first.text);
      expect(second.headers.get('x-request-id')).not.to.equal(first.headers.get('x-request-id'));
    }
  });

  it('puts an x-request-id on every response, each one different', async () => {
    const ids = new Set<string>();
    for (const [name, send] of SAMPLES) {
      const response = await send();
      const id = response.headers.get('x-request-id');
      expect(id, name).to.match(UUID);
      ids.add(id!);
      if (response.status >= 400) expect(response.text, name).not.to.include(id!);
    }
    expect(ids.size).to.equal(SAMPLES.length);
  });

  it('echoes a safe incoming x-request-id and replaces an unsafe one', async () => {
    const safe = `req-${Date.now()}.abc_DEF`;
    for (const path of ['/health', '/nope']) {
      const response = await request('GET', path, { headers: { 'x-request-id': safe } });
      expect(response.headers.get('x-request-id')).to.equal(safe);
    }
    for (const unsafe of ['<script>alert(1)</script>', 'has space', 'x'.repeat(129), '', 'a;b=c', '../../etc']) {
      const response = await rawRequest({ method: 'GET', path: '/health', headers: { 'x-request-id': unsafe } });
      expect(response.status).to.equal(200);
      expect(response.headers.get('x-request-id'), JSON.stringify(unsafe)).to.match(UUID);
    }
  });

  it('sends the helmet security headers on successes and failures alike', async () => {
    for (const [name, send] of SAMPLES) {
      const { headers } = await send();
      expect(headers.get('x-content-type-options'), name).to.equal('nosniff');
      expect(headers.get('x-frame-options'), name).to.equal('SAMEORIGIN');
      expect(headers.get('content-security-policy'), name).to.include("default-src 'self'");
      // PUBLIC_URL is http in the tests: no HSTS (test/security-headers.test.ts has the https set).
      expect(headers.get('strict-transport-security'), name).to.equal(null);
      expect(headers.get('referrer-policy'), name).to.equal('no-referrer');
      expect(headers.get('cross-origin-opener-policy'), name).to.equal('same-origin');
      expect(headers.get('x-powered-by'), name).to.equal(null);
    }
  });

  it('answers every sample with JSON and never a 5xx', async () => {
    for (const [name, send] of SAMPLES) {
      const response = await send();
      expect(response.status, name).to.be.below(500);
      expect(response.headers.get('content-type'), name).to.match(/^application\/json/);
      expect(response.body, name).to.be.an('object');
    }
  });

  it('GET /health answers 200 {"status":"ok"}', async () => {
    const response = await request('GET', '/health');
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ status: 'ok' });
  });

  it('GET /ready answers 200 with postgres, redis and rabbitmq ok', async () => {
    const response = await request('GET', '/ready');
    expect(response.status).to.equal(200);
    expect(response.body).to.deep.equal({ status: 'ok', checks: { postgres: 'ok', redis: 'ok', rabbitmq: 'ok' } });
  });

  it('GET /.well-known/jwks.json publishes only public EC keys', async () => {
    const response = await request('GET', '/.well-known/jwks.json');
    expect(response.status).to.equal(200);
    expect(response.body.keys).to.be.an('array').that.is.not.empty;
    for (const key of response.body.keys) {
      expect(key).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key.kid).to.be.a('string');
      expect(key).not.to.have.property('d');
    }
  });
});
