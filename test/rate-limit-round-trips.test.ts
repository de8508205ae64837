import crypto from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { accountLimitKey } from '../shared/rate-limit/client-keys.js';
import { expectFailure } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { registerUser, request, type JsonResponse } from './support/http.js';
import { SHARED_REDIS_URL, removeTestKeys, testPrefix } from './support/redis-keys.js';
import { startOwnRedis, type OwnRedis } from './support/redis-server.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';
import { monitorRedis } from './support/redis-monitor.js';

function randomIpv4(): string {
  return `198.51.${crypto.randomInt(256)}.${crypto.randomInt(1, 255)}`;
}

/**
 * The commands clients send under one rate-limit prefix, as Redis's MONITOR sees them
 * (those a Lua script runs itself are left out: they cost no round trip). Other suites
 * may use the shared Redis meanwhile; their keys carry other prefixes.
 */
class PrefixMonitor {
  private sentinels = 0;

  private constructor(
    private readonly monitor: { stop(): void },
    private readonly probe: Redis,
    private readonly tag: string,
    private readonly seen: string[][],
  ) {}

  static async start(prefix: string): Promise<PrefixMonitor> {
    const tag = `{${prefix}}:rl:`;
    const seen: string[][] = [];
    const monitor = await monitorRedis(SHARED_REDIS_URL, ({ source, args }) => {
      if (source !== 'lua' && args.some((arg) => arg.includes(tag))) seen.push(args);
    });
    return new PrefixMonitor(monitor, new Redis(SHARED_REDIS_URL), tag, seen);
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
    this.monitor.stop();
    this.probe.disconnect();
  }
}

function loginAt(app: TestApp, email: string, password: string, ip: string): Promise<JsonResponse> {
  return request('POST', '/login', { json: { email, password }, headers: { 'x-forwarded-for': ip }, baseUrl: app.url });
}

/** Limits out of the way but for the login ACCOUNT and login_success ACCOUNT ones, of 2 points each. */
const LIMITS = {
  RATE_LIMIT_SCALE: '1',
  TRUST_PROXY_HOPS: '1',
  RATE_LIMIT_DELAY_BASE_MS: '0',
  RATE_LIMIT_LOGIN_IP: '1000/900',
  RATE_LIMIT_LOGIN_ACCOUNT: '2/900',
  RATE_LIMIT_LOGIN_IP_ACCOUNT: '1000/900',
  RATE_LIMIT_LOGIN_SUCCESS_IP: '1000/900',
  RATE_LIMIT_LOGIN_SUCCESS_ACCOUNT: '2/900',
};

describe('rate limits: Redis round trips per sign-in', function () {
  this.timeout(60_000);
  let app: TestApp;
  let monitor: PrefixMonitor;
  let prefix: string;
  const login = (email: string, password: string, ip: string) => loginAt(app, email, password, ip);
  const counter = (action: string, key: string, id: string) => app.services.redis.get(`{${prefix}}:rl:${action}:${key}:${id}`);

  before(async () => {
    prefix = testPrefix('rl-trips');
    app = await startTestApp(testDatabase(), { ...LIMITS, RATE_LIMIT_PREFIX: prefix });
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
    expect((await login(warm.email, warm.password, randomIpv4())).status).to.equal(200);
    const { email, password } = await registerUser();
    await monitor.drain();
    expect((await login(email, password, randomIpv4())).status).to.equal(200);
    const commands = await monitor.drain();
    expect(commands.map((args) => args[0]), JSON.stringify(commands)).to.have.length.at.most(2);
  });

  it('leaves the counters of a successful sign-in as the per-key limits did: login given back, ip_account cleared, login_success kept', async () => {
    const { email, password } = await registerUser();
    const ip = randomIpv4();
    const account = accountLimitKey(email);
    expectFailure(await login(email, 'Wrong-password-123', ip), 401, 'invalid_credentials');
    expect((await login(email, password, ip)).status).to.equal(200);
    expect(await counter('login', 'ip', ip)).to.equal('1');
    expect(await counter('login', 'account', account)).to.equal('1');
    expect(await counter('login', 'ip_account', `${ip}|${account}`)).to.equal(null);
    expect(await counter('login_success', 'ip', ip)).to.equal('1');
    expect(await counter('login_success', 'account', account)).to.equal('1');
  });

  it('on a refusal, touches no later limit and gives the earlier ones their points back', async () => {
    const { email } = await registerUser();
    const account = accountLimitKey(email);
    for (let i = 0; i < 2; i++) expectFailure(await login(email, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
    const ip = randomIpv4();
    expectFailure(await login(email, 'Wrong-password-123', ip), 429, 'rate_limited');
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
    for (let i = 0; i < 2; i++) expect((await login(email, password, randomIpv4())).status).to.equal(200);
    const ip = randomIpv4();
    await monitor.drain();
    expectFailure(await login(email, password, ip), 429, 'rate_limited');
    expect(await monitor.drain(), 'the count and the give-back').to.have.length(1);
    expect(await counter('login', 'ip', ip)).to.equal('0');
    expect(await counter('login', 'account', account)).to.equal('0');
    expect(await counter('login', 'ip_account', `${ip}|${account}`)).to.equal('0');
    expect(await counter('login_success', 'ip', ip)).to.equal('0');
    expect(await counter('login_success', 'account', account)).to.equal('3');
  });
});

describe('rate limits while Redis is late (a Redis of this suite\'s own, its writes paused)', function () {
  this.timeout(60_000);
  let redis: OwnRedis;
  let admin: Redis;
  let app: TestApp;

  before(async () => {
    redis = await startOwnRedis();
    app = await startTestApp(testDatabase(), { ...LIMITS, REDIS_URL: redis.url, RATE_LIMIT_REDIS_TIMEOUT_MS: '200' });
    admin = new Redis(redis.url);
    await waitFor('the app connected to Redis', () => app.services.redis.status === 'ready' || undefined);
  });

  after(async () => {
    admin?.disconnect();
    await app?.close();
    await redis?.stop();
  });

  it('counts on the per-process limiters once the script is late, answering within the timeout, and the limits still hold', async () => {
    const { email, password } = await registerUser();
    // Scripts are writes: Redis holds them until the pause ends, far beyond the 200 ms the limits wait.
    await admin.call('CLIENT', 'PAUSE', '30000', 'WRITE');
    try {
      const timed = async (pass: string) => {
        const started = performance.now();
        const response = await loginAt(app, email, pass, randomIpv4());
        return { response, ms: performance.now() - started };
      };
      for (let i = 0; i < 2; i++) {
        const { response, ms } = await timed('Wrong-password-123');
        expectFailure(response, 401, 'invalid_credentials');
        expect(ms, 'a count and a give-back, each given up after 200 ms').to.be.below(5_000);
      }
      const { response, ms } = await timed(password);
      expectFailure(response, 429, 'rate_limited');
      expect(ms).to.be.below(5_000);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
    }
  });
});
