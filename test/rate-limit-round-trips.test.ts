import crypto from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { accountLimitKey } from '../shared/rate-limit/client-keys.js';
import { expectFailure } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { registerUser, request, type JsonResponse } from './support/http.js';
import { SHARED_REDIS_URL, removeTestKeys, testPrefix } from './support/redis-keys.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

function randomIpv4(): string {
  return `198.51.${crypto.randomInt(256)}.${crypto.randomInt(1, 255)}`;
}

/**
 * The commands clients send under one rate-limit prefix, as Redis's MONITOR sees them
 * (those a Lua script runs itself are left out: they cost no round trip). Other suites
 * may use the shared Redis meanwhile; their keys carry other prefixes.
 */
class PrefixMonitor {
  private readonly seen: string[][] = [];
  private sentinels = 0;

  private constructor(
    private readonly monitor: Redis,
    private readonly probe: Redis,
    private readonly tag: string,
  ) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((arg) => arg.includes(tag))) this.seen.push(args);
    });
  }

  static async start(prefix: string): Promise<PrefixMonitor> {
    const monitor = await new Redis(SHARED_REDIS_URL).monitor();
    return new PrefixMonitor(monitor, new Redis(SHARED_REDIS_URL), `{${prefix}}:rl:`);
  }

  /** The commands sent since the last call: MONITOR lists them in the order Redis ran them, so once a marker sent now is seen, all of them are. */
  async drain(): Promise<string[][]> {
    const marker = `${this.tag}monitor-marker-${++this.sentinels}`;
    await this.probe.exists(marker);
    await waitFor('the marker in MONITOR', () => this.seen.some((args) => args.includes(marker)) || undefined, 5_000, 10);
    const commands = this.seen.splice(0).filter((args) => !args.includes(marker));
    return commands;
  }

  stop(): void {
    this.monitor.disconnect();
    this.probe.disconnect();
  }
}

describe('rate limits: Redis round trips per sign-in', function () {
  this.timeout(60_000);
  let app: TestApp;
  let monitor: PrefixMonitor;
  let prefix: string;
  const loginAt = (email: string, password: string, ip: string): Promise<JsonResponse> =>
    request('POST', '/login', { json: { email, password }, headers: { 'x-forwarded-for': ip }, baseUrl: app.url });
  const counter = (action: string, key: string, id: string) => app.services.redis.get(`{${prefix}}:rl:${action}:${key}:${id}`);

  before(async () => {
    prefix = testPrefix('rl-trips');
    app = await startTestApp(testDatabase(), {
      RATE_LIMIT_SCALE: '1',
      RATE_LIMIT_PREFIX: prefix,
      TRUST_PROXY_HOPS: '1',
      RATE_LIMIT_DELAY_BASE_MS: '0',
      RATE_LIMIT_LOGIN_IP: '1000/900',
      RATE_LIMIT_LOGIN_ACCOUNT: '2/900',
      RATE_LIMIT_LOGIN_IP_ACCOUNT: '1000/900',
      RATE_LIMIT_LOGIN_SUCCESS_IP: '1000/900',
      RATE_LIMIT_LOGIN_SUCCESS_ACCOUNT: '2/900',
    });
    monitor = await PrefixMonitor.start(prefix);
  });

  after(async () => {
    monitor?.stop();
    await app?.close();
    await removeTestKeys(prefix);
  });

  it('counts a successful sign-in with one command before the hash and one after', async () => {
    // A first sign-in of the process loads the scripts into Redis (a NOSCRIPT and an EVAL, once).
    const warm = await registerUser();
    expect((await loginAt(warm.email, warm.password, randomIpv4())).status).to.equal(200);
    const { email, password } = await registerUser();
    await monitor.drain();
    expect((await loginAt(email, password, randomIpv4())).status).to.equal(200);
    const commands = await monitor.drain();
    expect(commands.map((args) => args[0]), JSON.stringify(commands)).to.have.length.at.most(2);
  });

  it('leaves the counters of a successful sign-in as the per-key limits did: login given back, ip_account cleared, login_success kept', async () => {
    const { email, password } = await registerUser();
    const ip = randomIpv4();
    const account = accountLimitKey(email);
    expectFailure(await loginAt(email, 'Wrong-password-123', ip), 401, 'invalid_credentials');
    expect((await loginAt(email, password, ip)).status).to.equal(200);
    expect(await counter('login', 'ip', ip)).to.equal('1');
    expect(await counter('login', 'account', account)).to.equal('1');
    expect(await counter('login', 'ip_account', `${ip}|${account}`)).to.equal(null);
    expect(await counter('login_success', 'ip', ip)).to.equal('1');
    expect(await counter('login_success', 'account', account)).to.equal('1');
  });

  it('on a refusal, touches no later limit and gives the earlier ones their points back', async () => {
    const { email } = await registerUser();
    const account = accountLimitKey(email);
    for (let i = 0; i < 2; i++) expectFailure(await loginAt(email, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
    const ip = randomIpv4();
    expectFailure(await loginAt(email, 'Wrong-password-123', ip), 429, 'rate_limited');
    // The IP limit, counted first, has its point back; the refusing account limit keeps its increment.
    expect(await counter('login', 'ip', ip)).to.equal('0');
    expect(await counter('login', 'account', account)).to.equal('3');
    // The limits after the refusing one were never counted: no key for this client.
    expect(await counter('login', 'ip_account', `${ip}|${account}`)).to.equal(null);
    expect(await counter('login_success', 'ip', ip)).to.equal(null);
    expect(await counter('login_success', 'account', account)).to.equal('0');
  });

  it('on a login_success refusal, gives back every login point counted before it, in the one command that counted them', async () => {
    const { email, password } = await registerUser();
    const account = accountLimitKey(email);
    for (let i = 0; i < 2; i++) expect((await loginAt(email, password, randomIpv4())).status).to.equal(200);
    const ip = randomIpv4();
    await monitor.drain();
    expectFailure(await loginAt(email, password, ip), 429, 'rate_limited');
    expect(await monitor.drain(), 'the count and the give-back').to.have.length(1);
    expect(await counter('login', 'ip', ip)).to.equal('0');
    expect(await counter('login', 'account', account)).to.equal('0');
    expect(await counter('login', 'ip_account', `${ip}|${account}`)).to.equal('0');
    expect(await counter('login_success', 'ip', ip)).to.equal('0');
    expect(await counter('login_success', 'account', account)).to.equal('3');
  });
});
