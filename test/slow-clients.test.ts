import net from 'node:net';
import { expect } from 'chai';
import { loadConfig } from '../shared/config/config.js';
import { testApp, testDatabase } from './support/hooks.js';
import { startTestApp, testEnv, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

interface Exchange {
  /** What the server sent before the connection closed. */
  text: string;
  /** From the connection's start to its close, in ms. */
  ms: number;
  /** How many bytes the client had written when the server closed. */
  written: number;
}

/**
 * Connects to `url` from `localAddress` and writes `raw` one byte every `everyMs` (all at
 * once for 0) until the server closes the connection or `maxMs` passes (then the client
 * gives up: the loop is bounded).
 */
function trickle(url: string, raw: string, everyMs: number, maxMs: number, localAddress = '127.0.0.1'): Promise<Exchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect({ host: hostname, port: Number(port), localAddress });
    let text = '';
    let written = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => socket.destroy(), maxMs);
    const next = () => {
      if (written >= raw.length || socket.destroyed || !socket.writable) return;
      socket.write(raw[written++]!);
      timer = setTimeout(next, everyMs);
    };
    socket.on('connect', () => (everyMs === 0 ? (socket.write(raw), (written = raw.length)) : next()));
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(giveUp);
      resolve({ text, ms: performance.now() - started, written });
    });
  });
}

function parse(text: string): { status: number; head: string; body: any } {
  const [head, body] = text.split('\r\n\r\n');
  return { status: Number(head!.split(' ')[1]), head: head!, body: body ? JSON.parse(body) : undefined };
}

const SLOW_HEADERS = `GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`;

describe('slow clients and open connections', function () {
  this.timeout(60_000);
  const apps: TestApp[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });

  describe('timeouts', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(testDatabase(), { HTTP_HEADERS_TIMEOUT_MS: '1500', HTTP_REQUEST_TIMEOUT_MS: '3000' });
      apps.push(app);
    });

    it('cuts off a client that sends its headers a byte at a time, with 408 in the contract\'s body', async () => {
      const cut = await trickle(app.url, SLOW_HEADERS, 100, 20_000);
      // The headers timeout, plus at most one check interval and some slack for a loaded machine.
      expect(cut.ms, `closed after ${cut.ms.toFixed(0)} ms`).to.be.within(1_400, 4_000);
      expect(cut.written).to.be.below(SLOW_HEADERS.length);
      const answer = parse(cut.text);
      expect(answer.status).to.equal(408);
      expect(answer.head).to.match(/\r\ncontent-type: application\/json/i);
      expect(answer.body).to.deep.equal({ message: 'fail', error: { code: 'invalid_request', message: 'The request did not arrive in time.' } });
    });

    it('cuts off a client that sends its body a byte at a time, within the request timeout', async () => {
      const body = JSON.stringify({ email: 'slow@example.com', password: 'x'.repeat(200) });
      const raw = `POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      const { hostname, port } = new URL(app.url);
      const started = performance.now();
      const text = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), hostname);
        let received = '';
        let sent = 0;
        let timer: NodeJS.Timeout | undefined;
        const drip = () => {
          if (sent >= body.length || !socket.writable) return;
          socket.write(body[sent++]!);
          timer = setTimeout(drip, 100);
        };
        socket.on('connect', () => {
          socket.write(raw);
          drip();
        });
        socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
        socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(received);
        });
        setTimeout(() => socket.destroy(), 20_000).unref();
      });
      const ms = performance.now() - started;
      expect(ms, `closed after ${ms.toFixed(0)} ms`).to.be.within(2_900, 5_500);
      expect(parse(text).status).to.equal(408);
    });

    it('at the defaults (10 s headers, 30 s request), a client sending a header byte a second is cut off within 20 s', async function () {
      this.timeout(30_000);
      expect(testApp().services.config.http).to.include({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
      const cut = await trickle(testApp().url, SLOW_HEADERS, 1_000, 25_000);
      expect(cut.ms, `closed after ${cut.ms.toFixed(0)} ms`).to.be.within(9_500, 20_000);
      expect(parse(cut.text).status).to.equal(408);
    });
  });

  describe('connection caps', () => {
    let app: TestApp;
    const held: net.Socket[] = [];
    before(async () => {
      app = await startTestApp(testDatabase(), { RATE_LIMIT_SCALE: '1', HTTP_MAX_CONNECTIONS_PER_IP: '3', HTTP_MAX_CONNECTIONS: '5' });
      apps.push(app);
    });
    after(() => held.forEach((socket) => socket.destroy()));

    /** An idle connection from `localAddress`, open once the server has taken it. */
    const hold = (localAddress: string) =>
      new Promise<net.Socket>((resolve, reject) => {
        const { hostname, port } = new URL(app.url);
        const socket = net.connect({ host: hostname, port: Number(port), localAddress }, () => resolve(socket));
        socket.on('error', reject);
        held.push(socket);
      });
    const healthFrom = (localAddress: string) => trickle(app.url, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 0, 10_000, localAddress);

    it('answers a connection past the per-address cap with 429 rate_limited and Retry-After, and past the total with 503; a freed place is taken again', async () => {
      for (let i = 0; i < 3; i++) await hold('127.0.0.1');
      const perIp = parse((await healthFrom('127.0.0.1')).text);
      expect(perIp.status).to.equal(429);
      expect(perIp.head).to.match(/\r\nretry-after: 1\r\n/i);
      expect(perIp.body.error.code).to.equal('rate_limited');
      expect(perIp.body.error.message).to.match(/^Too many open connections from this address; try again in 1 second\.$/);

      // Another address still gets in, up to the total.
      for (let i = 0; i < 2; i++) await hold('127.0.0.2');
      const total = parse((await healthFrom('127.0.0.3')).text);
      expect(total.status).to.equal(503);
      expect(total.head).to.match(/\r\nretry-after: 1\r\n/i);
      expect(total.body.error.code).to.equal('unavailable');

      held.shift()!.destroy();
      const again = await waitFor('a freed place', async () => {
        const answer = parse((await healthFrom('127.0.0.1')).text);
        return answer.status === 200 ? answer : undefined;
      });
      expect(again.body).to.deep.equal({ status: 'ok' });
    });

    it('multiplies both caps by RATE_LIMIT_SCALE; the defaults are 128 per address and 1024 in total', () => {
      expect(loadConfig(testEnv('db', { RATE_LIMIT_SCALE: '1' })).http).to.include({ maxConnectionsPerIp: 128, maxConnections: 1024 });
      expect(loadConfig(testEnv('db', { RATE_LIMIT_SCALE: '2', HTTP_MAX_CONNECTIONS_PER_IP: '10' })).http).to.include({ maxConnectionsPerIp: 20, maxConnections: 2048 });
    });
  });
});
