import { expect } from 'chai';
import { request } from './support/http.js';
import { testDatabase } from './support/hooks.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/** Log lines as the app writes them, parsed. */
class CapturedLog {
  readonly lines: Array<Record<string, unknown>> = [];
  write(chunk: string): void {
    for (const line of chunk.split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
  }
  raw(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }
}

describe('request logging', () => {
  const log = new CapturedLog();
  let app: TestApp;

  before(async function () {
    this.timeout(30_000);
    app = await startTestApp(testDatabase(), { LOG_LEVEL: 'debug' }, log);
  });
  after(async () => app?.close());

  it('names its request in each access line, also when requests overlap', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `overlap-${i}`);
    const responses = await Promise.all(
      ids.map((id, i) =>
        i % 2 === 0
          ? request('POST', '/login', { baseUrl: app.url, headers: { 'x-request-id': id }, json: { email: `nobody-${i}@example.com`, password: 'not the right one at all' } })
          : request('GET', '/no-such-route', { baseUrl: app.url, headers: { 'x-request-id': id } }),
      ),
    );
    expect(responses.map((r) => r.status)).to.deep.equal(ids.map((_, i) => (i % 2 === 0 ? 401 : 404)));
    for (const [i, id] of ids.entries()) {
      const access = log.lines.filter((line) => line.msg === 'request' && line.request_id === id);
      expect(access, id).to.have.length(1);
      expect(access[0]).to.include({ method: i % 2 === 0 ? 'POST' : 'GET', path: i % 2 === 0 ? '/login' : '/no-such-route', status: i % 2 === 0 ? 401 : 404 });
    }
  });

  it('gives a probe its access line at debug level, and a line without a request no request_id', async () => {
    const probe = await request('GET', '/health', { baseUrl: app.url, headers: { 'x-request-id': 'probe-7' } });
    expect(probe.status).to.equal(200);
    const line = log.lines.find((l) => l.request_id === 'probe-7');
    expect(line).to.include({ msg: 'request', level: 'debug', path: '/health', status: 200 });
    const before = log.lines.length;
    app.services.log.info('a line outside any request');
    expect(log.lines[before]).to.include({ msg: 'a line outside any request' }).and.not.have.property('request_id');
  });

  it('never writes the password or the tokens of a login', async () => {
    const email = `logged-${Date.now()}@example.com`;
    const password = 'a password that must never be logged 7';
    expect((await request('POST', '/register', { baseUrl: app.url, json: { email, password } })).status).to.equal(201);
    const login = await request('POST', '/login', { baseUrl: app.url, json: { email, password } });
    expect(login.status).to.equal(200);
    const written = log.raw();
    expect(written).to.include(login.headers.get('x-request-id')!);
    for (const secret of [password, login.body.access_token, login.body.refresh_token]) expect(written).to.not.include(secret);
  });
});
