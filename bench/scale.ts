/**
 * `npm run bench -- scale`: how the costs grow with the data. Two databases side by side:
 * a full one (1 000 000 users with profiles, sessions and refresh tokens, 10 000 000
 * login attempts, 5 000 000 audit rows, 1 000 000 published outbox rows; BENCH_SCALE
 * multiplies the counts) and a nearly empty one holding only the expired day of each
 * table (bench/scale-fill.ts), each with a web process of its own. Every figure is
 * measured on both, alternating (empty, full, full, empty), and the full one's is divided
 * by the empty one's: target <= 1.5. The statements the figures run directly are then
 * EXPLAINed on the full database, and any sequential scan of a large table is named.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import argon2 from 'argon2';
import pg from 'pg';
import { loadConfig } from '../shared/config/config.js';
import { claimScoring } from '../workers/relay/settle-batch.js';
import { createPool, withTransaction, type Pool } from '../shared/db/pool.js';
import { searchAuditLogs } from '../shared/db/queries/audit-logs.js';
import { claimOutboxBatch, markOutboxPublished } from '../shared/db/queries/outbox.js';
import { searchUsers, type UserListing } from '../shared/db/queries/user-search.js';
import { assessLoginAttempt } from '../shared/domain/anomaly/assess-login-attempt.js';
import { REACTION_JOBS } from '../shared/queues/jobs.js';
import { createLogger } from '../shared/logger.js';
import { runMaintenance } from '../workers/maintenance/run-maintenance.js';
import { createVhost } from '../test/support/relay-harness.js';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from '../test/support/test-database.js';
import { median } from './lib/median.js';
import { freePort, startServer, type ServerProcess } from './lib/processes.js';
import { percentile } from './lib/load.js';
import { comparablePrefix, fill, fillCounts, HEAVY_USER, scaleEmail, userId, type FillStep } from './scale-fill.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'Scale-bench-password-1';
const USERS = 16;
type Side = 'empty' | 'full';
const SIDES: Side[] = ['empty', 'full'];

interface Figure {
  name: string;
  unit: string;
  empty: number;
  full: number;
}

interface SideState {
  side: Side;
  database: string;
  pool: Pool;
  server: ServerProcess;
  users: Array<{ email: string; token: string; refresh: string }>;
  fill: FillStep[];
  bytes: number;
}

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

/** One request of a load: its status. */
type Call = () => Promise<number>;

/** Calls due every 1000/rate ms for `seconds`, each counted from its due time; p50, p99 and statuses. */
async function paced(call: Call, rate: number, seconds: number): Promise<{ p50: number; p99: number; statuses: Record<string, number> }> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const start = performance.now() + 10;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < rate * seconds; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      call().then(
        (status) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status < 300) latencies.push(performance.now() - due);
        },
        () => void (statuses.errors = (statuses.errors ?? 0) + 1),
      ),
    );
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), statuses };
}

/** `connections` loops calling back to back for `seconds`: 2xx answers per second. */
async function throughput(call: Call, connections: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let ok = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) if ((await call().catch(() => 599)) < 300) ok++;
    }),
  );
  return ok / seconds;
}

/** The HTTP loads of one side. */
function calls(state: SideState) {
  const { url } = state.server;
  let next = 0;
  const user = () => state.users[next++ % state.users.length]!;
  // Refresh chains: a chain in flight is skipped, so each token is used once.
  const free = state.users.map((u) => u);
  return {
    login: async () => (await post(`${url}/login`, { email: user().email, password: PASSWORD })).status,
    me: async () => (await fetch(`${url}/me`, { headers: { authorization: `Bearer ${user().token}` } }).then(async (r) => (await r.arrayBuffer(), r.status))),
    refresh: async () => {
      const chain = free.shift();
      if (!chain) return 598;
      try {
        const answer = await post(`${url}/token/refresh`, { refresh_token: chain.refresh });
        if (answer.status === 200) chain.refresh = String(answer.json.refresh_token);
        return answer.status;
      } finally {
        free.push(chain);
      }
    },
    register: async () => (await post(`${url}/register`, { email: `scale-new-${crypto.randomBytes(6).toString('hex')}@example.com`, password: PASSWORD })).status,
  };
}

/** The order every figure is measured in: each side twice, so a drift of the machine falls on both alike. */
const ROUNDS: Side[] = ['empty', 'full', 'full', 'empty'];

/** Runs `measure` on each side in ROUNDS order and keeps each side's median. */
async function bothSides(states: Record<Side, SideState>, measure: (state: SideState) => Promise<number>): Promise<Record<Side, number>> {
  const values: Record<Side, number[]> = { empty: [], full: [] };
  for (const side of ROUNDS) values[side].push(await measure(states[side]));
  return { empty: median(values.empty), full: median(values.full) };
}

/** Median milliseconds of `times` runs of `work`. */
async function timed(times: number, work: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await work();
    ms.push(performance.now() - started);
  }
  return median(ms);
}

/** A pool whose statements are recorded (text and values), for EXPLAIN afterwards; and the longest one's time. */
function recording(pool: Pool, statements: Map<string, unknown[]>) {
  let longest = 0;
  /** Milliseconds by statement since the last reset. */
  const spent = new Map<string, number>();
  /** The statement's text, recorded with its values the first time it runs. */
  const record = (args: unknown[]): string => {
    const [first, second] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
    const text = typeof first === 'string' ? first : first.text;
    if (!/^\s*(BEGIN|COMMIT|ROLLBACK)/i.test(text) && !statements.has(text)) statements.set(text, (typeof first === 'string' ? second : first.values) ?? []);
    return text;
  };
  const wrap = <T extends pg.Pool | pg.PoolClient>(target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (property === 'query') {
          return async (...args: unknown[]) => {
            const text = record(args);
            const started = performance.now();
            try {
              return await (object.query as (...a: unknown[]) => Promise<unknown>).apply(object, args);
            } finally {
              const ms = performance.now() - started;
              longest = Math.max(longest, ms);
              spent.set(text, (spent.get(text) ?? 0) + ms);
            }
          };
        }
        if (property === 'connect') return async () => wrap(await (object as pg.Pool).connect());
        const value = Reflect.get(object, property, receiver);
        return typeof value === 'function' ? value.bind(object) : value;
      },
    });
  return {
    pool: wrap(pool),
    longestMs: () => longest,
    /** The `count` statements that took longest in all since the last reset. */
    slowest: (count: number) => [...spent].sort((a, b) => b[1] - a[1]).slice(0, count).map(([text, ms]) => `${ms.toFixed(0)} ms ${text.replace(/\s+/g, ' ').trim().slice(0, 60)}`),
    reset: () => {
      longest = 0;
      spent.clear();
    },
  };
}

/** Tables of more than 100 000 rows in `pool`'s database. */
async function largeTables(pool: Pool): Promise<Set<string>> {
  return new Set((await pool.query<{ relname: string }>(`SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > 100000`)).rows.map((r) => r.relname));
}

/** Sequential scans of the `big` tables in a statement's plan on `pool`'s database. */
async function seqScans(pool: Pool, big: Set<string>, text: string, values: unknown[]): Promise<string[]> {
  const { rows } = await pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, values);
  const found: string[] = [];
  const walk = (node: PlanNode) => {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] && big.has(node['Relation Name'])) found.push(node['Relation Name']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(rows[0]!['QUERY PLAN'][0]!.Plan);
  return found;
}
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

export interface ScaleBench {
  scale: number;
  figures: Array<Figure & { ratio: number; pass: boolean }>;
  fill: Record<Side, { seconds: number; database_bytes: number; steps: FillStep[] }>;
  plans: Array<{ statement: string; seq_scans: string[] }>;
}

export async function runScaleBench({ progress = console.log, defer = () => undefined }: { progress?: (line: string) => void; defer?: (step: () => Promise<unknown>) => void } = {}): Promise<ScaleBench> {
  const counts = fillCounts(SCALE);
  progress(`scale: ${counts.users} users, ${counts.attempts} login attempts, ${counts.audit} audit rows, ${counts.outbox} outbox rows (BENCH_SCALE=${SCALE})`);
  const passwordHash = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  const vhost = await createVhost('us_bench_scale');
  defer(() => vhost.remove());
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-bench-scale-'));
  defer(async () => fs.rmSync(workDir, { recursive: true, force: true }));
  const appSecret = crypto.randomBytes(36).toString('base64url');
  const config = loadConfig({ DATABASE_URL: 'postgres://unused', APP_SECRET: appSecret, NODE_ENV: 'test' });
  const log = createLogger('silent');

  const states = {} as Record<Side, SideState>;
  for (const side of SIDES) {
    const database = await createMigratedDatabase();
    defer(() => dropDatabase(database));
    const pool = createPool({ url: databaseUrlFor(database), poolMax: 4, connectTimeoutMs: 5_000 });
    defer(() => pool.end());
    const steps = await fill(pool, counts, side, passwordHash, progress);
    const bytes = Number((await pool.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size')).rows[0]!.size);
    const port = String(await freePort());
    const server = await startServer(`scale-${side}`, 'api/main.js', {
      NODE_ENV: 'production',
      APP_SECRET: appSecret,
      DATABASE_URL: databaseUrlFor(database),
      REDIS_URL,
      RABBITMQ_URL: vhost.url,
      QUEUE_PREFIX: `bench-scale-${side}-${crypto.randomBytes(3).toString('hex')}`,
      PORT: port,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      MAIL_DIR: path.join(workDir, `mail-${side}`),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_SCALE: '100000',
      // The cap off: every login opens a session, as on the empty side.
      SESSION_MAX_PER_USER: '0',
    }, workDir);
    defer(() => server.stop());
    const users: SideState['users'] = [];
    for (let i = 0; i < USERS; i++) {
      const email = `scale-user-${i}-${crypto.randomBytes(3).toString('hex')}@example.com`;
      const registered = await post(`${server.url}/register`, { email, password: PASSWORD });
      if (registered.status !== 201) throw new Error(`scale: register answered ${registered.status}`);
      users.push({ email, token: '', refresh: '' });
    }
    states[side] = { side, database, pool, server, users, fill: steps, bytes };
  }
  // Signed in only now: the full side's fill takes longer than an access token lives.
  for (const side of SIDES) {
    for (const user of states[side].users) {
      const login = await post(`${states[side].server.url}/login`, { email: user.email, password: PASSWORD });
      if (login.status !== 200) throw new Error(`scale: login answered ${login.status}`);
      Object.assign(user, { token: String(login.json.token), refresh: String(login.json.refresh_token) });
    }
  }

  const figures: Figure[] = [];
  const add = (name: string, unit: string, values: Record<Side, number>) => {
    figures.push({ name, unit, ...values });
    progress(`scale: ${name}: empty ${values.empty.toFixed(2)} ${unit}, full ${values.full.toFixed(2)} ${unit}`);
  };
  const loads = { empty: calls(states.empty), full: calls(states.full) };
  const http = [
    { name: 'login', rate: 8, connections: 4 },
    { name: 'me', rate: 100, connections: 8 },
    { name: 'refresh', rate: 50, connections: 8 },
    { name: 'register', rate: 5, connections: 4 },
  ] as const;
  for (const { name, rate, connections } of http) {
    const latencies = { empty: [] as Array<{ p50: number; p99: number }>, full: [] as Array<{ p50: number; p99: number }> };
    for (const side of ROUNDS) latencies[side].push(await paced(loads[side][name], rate, 6));
    add(`${name} p50 at ${rate}/s`, 'ms', { empty: median(latencies.empty.map((l) => l.p50)), full: median(latencies.full.map((l) => l.p50)) });
    add(`${name} p99 at ${rate}/s`, 'ms', { empty: median(latencies.empty.map((l) => l.p99)), full: median(latencies.full.map((l) => l.p99)) });
    add(`${name} throughput (${connections} connections)`, '/s', await bothSides(states, (state) => throughput(loads[state.side][name], connections, 4)));
  }

  const statements = new Map<string, unknown[]>();
  const recorded = { empty: recording(states.empty.pool, statements), full: recording(states.full.pool, statements) };

  // Anomaly scoring: a fresh attempt of an ordinary account and of the heavy one, scored in a transaction rolled back.
  const byEmail = async (state: SideState, email: string) =>
    (await state.pool.query<{ id: string; email: string }>('SELECT id, email::text FROM users WHERE email = $1', [email])).rows[0]!;
  const scoring = (account: (state: SideState) => Promise<{ id: string; email: string }>) => async (state: SideState) => {
    const pool = recorded[state.side].pool;
    const { id: user, email } = await account(state);
    const { rows } = await state.pool.query<{ id: string }>(
      `INSERT INTO login_attempts (user_id, email, ip_addr, user_agent, success, created_at)
       VALUES ($1, $2, '192.0.2.7', 'scale-bench-new', true, now()) RETURNING id::text`,
      [user, email],
    );
    const event = { event_id: crypto.randomUUID(), type: 'LoginSucceeded' as const, occurred_at: new Date().toISOString(), user_id: user, data: { session_id: crypto.randomUUID(), attempt_id: rows[0]!.id } };
    return timed(10, () =>
      withTransaction(pool, async (tx) => {
        await assessLoginAttempt(tx, config.anomaly, event);
        throw Object.assign(new Error('rollback'), { rollback: true });
      }).catch((error: { rollback?: boolean }) => {
        if (!error.rollback) throw error;
      }),
    );
  };
  // An ordinary account: one of the registered ones, signed in a few times on each side.
  add('anomaly scoring, ordinary account', 'ms', await bothSides(states, scoring(async (state) => byEmail(state, state.users[0]!.email))));
  add(`anomaly scoring, account with ${counts.heavyAttempts} attempts`, 'ms', await bothSides(states, scoring(async (state) => byEmail(state, scaleEmail(HEAVY_USER)))));

  // The relay's claim and mark with the published rows beside pending ones. In production
  // the claim runs on one session (the leader lock's) and the mark on long-lived pool
  // connections, each reusing its prepared statement; so both are timed on one client
  // after 5 warm-up batches. Planning a statement afresh (about 3 ms on the full side) is
  // not what a claim costs there.
  const relay = { claim: { empty: 0, full: 0 }, mark: { empty: 0, full: 0 } };
  const WARM_UP_BATCHES = 5;
  for (const side of SIDES) {
    const state = states[side];
    await state.pool.query(
      `INSERT INTO outbox (aggregate_id, topic, type, payload) SELECT ${userId('i')}, 'user.events', 'ProfileUpdated', '{}'::jsonb FROM generate_series(1, 750) i`,
    );
    const client = await recorded[side].pool.connect();
    const claims: number[] = [];
    const marks: number[] = [];
    try {
      for (let batch = 0; ; batch++) {
        let started = performance.now();
        const rows = await claimOutboxBatch(client, 50, 30, claimScoring(config.anomaly));
        if (batch >= WARM_UP_BATCHES) claims.push(performance.now() - started);
        if (rows.length === 0) break;
        started = performance.now();
        await markOutboxPublished(client, rows.map((r) => r.id), REACTION_JOBS);
        if (batch >= WARM_UP_BATCHES) marks.push(performance.now() - started);
      }
    } finally {
      client.release();
    }
    relay.claim[side] = median(claims);
    relay.mark[side] = median(marks);
  }
  add('relay claim of 50 rows', 'ms', relay.claim);
  add('relay mark of 50 rows', 'ms', relay.mark);

  // The admin searches.
  const prefix = comparablePrefix(counts);
  add(`admin user search by address prefix (${prefix})`, 'ms', await bothSides(states, (state) => timed(10, () => searchUsers(recorded[state.side].pool, { emailPrefix: prefix, limit: 50 }))));
  add('admin user listing, first page', 'ms', await bothSides(states, (state) => timed(10, () => searchUsers(recorded[state.side].pool, { limit: 50 }))));
  add('admin user listing, 100th page', 'ms', await bothSides(states, async (state) => {
    let after: UserListing['position'] | undefined;
    for (let page = 1; page < 100; page++) {
      const rows = await searchUsers(state.pool, { limit: 50, after });
      if (rows.length === 0) break;
      after = rows.at(-1)!.position;
    }
    return timed(10, () => searchUsers(recorded[state.side].pool, { limit: 50, after }));
  }));
  add('audit entries of one user', 'ms', await bothSides(states, async (state) => {
    const { id } = await byEmail(state, scaleEmail(HEAVY_USER));
    return timed(10, () => searchAuditLogs(recorded[state.side].pool, { userId: id, limit: 50 }));
  }));
  // The expired day (366 to 365 days ago): the one day both sides hold, so both return a
  // full page. A day the empty side lacks returned nothing there, and the figure compared
  // fetching 50 rows with fetching none (0.33 -> 0.68 ms, x2.05).
  const DAY = 86_400_000;
  add('audit entries of one action over a day', 'ms', await bothSides(states, (state) =>
    timed(10, () => searchAuditLogs(recorded[state.side].pool, { action: 'user.login', from: new Date(Date.now() - 366 * DAY), to: new Date(Date.now() - 365 * DAY), limit: 50 })),
  ));

  // The purge of the expired day, once per side (it removes what it purges), and its longest statement.
  const purge = { time: { empty: 0, full: 0 }, lock: { empty: 0, full: 0 } };
  for (const side of SIDES) {
    recorded[side].reset();
    const started = performance.now();
    const report = await runMaintenance(recorded[side].pool, { retention: config.retention, batches: config.maintenance.batches }, log);
    purge.time[side] = performance.now() - started;
    purge.lock[side] = recorded[side].longestMs();
    progress(`scale: ${side}: purge removed ${JSON.stringify(report.removed)}; slowest: ${recorded[side].slowest(3).join(' | ')}`);
  }
  add("maintenance purge of the expired day", 'ms', purge.time);
  add('maintenance purge, longest statement (lock held)', 'ms', purge.lock);

  const plans: ScaleBench['plans'] = [];
  const big = await largeTables(states.full.pool);
  for (const [text, values] of statements) {
    const scans = await seqScans(states.full.pool, big, text, values).catch((error: Error) => [`(EXPLAIN failed: ${error.message})`]);
    plans.push({ statement: text.replace(/\s+/g, ' ').trim().slice(0, 90), seq_scans: scans });
  }

  for (const side of SIDES) await states[side].server.stop();
  const fillReport = Object.fromEntries(
    SIDES.map((side) => [side, { seconds: states[side].fill.reduce((sum, step) => sum + step.ms, 0) / 1000, database_bytes: states[side].bytes, steps: states[side].fill }]),
  ) as ScaleBench['fill'];
  return {
    scale: SCALE,
    figures: figures.map((figure) => {
      const ratio = figure.full / figure.empty;
      // Throughput falls when it is worse; times rise.
      const worse = figure.unit === '/s' ? figure.empty / figure.full : ratio;
      return { ...figure, ratio, pass: worse <= 1.5 };
    }),
    fill: fillReport,
    plans,
  };
}

export function formatScale(result: ScaleBench): string {
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    `Scale (BENCH_SCALE=${result.scale}): full database ÷ nearly empty one, target <= 1.5 (throughput: empty ÷ full)`,
    `  fill: full ${result.fill.full.seconds.toFixed(0)} s, ${gib(result.fill.full.database_bytes)}; empty ${result.fill.empty.seconds.toFixed(1)} s, ${gib(result.fill.empty.database_bytes)}`,
  ];
  for (const f of result.figures) {
    lines.push(`  ${f.name.padEnd(52)} ${f.empty.toFixed(2).padStart(9)} → ${f.full.toFixed(2).padStart(9)} ${f.unit.padEnd(3)} ×${f.ratio.toFixed(2)}  ${f.pass ? 'PASS' : 'MISS'}`);
  }
  lines.push('  plans on the full database (sequential scans of tables over 100 000 rows):');
  for (const plan of result.plans) lines.push(`    ${plan.seq_scans.length === 0 ? 'index ' : `SEQ ${plan.seq_scans.join(',')}`}  ${plan.statement}`);
  return lines.join('\n');
}
