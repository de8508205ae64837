import type { EnvReader } from './env-reader.js';

export const RATE_LIMIT_ACTIONS = [
  'login',
  'login_success',
  'forgot',
  'reset',
  'verify',
  'refresh',
  'register',
  'reauth',
  'resend',
  'mfa',
  'profile',
  'export',
  'sessions',
  'mfa_change',
  'admin',
  'passkey',
] as const;
export type RateLimitAction = (typeof RATE_LIMIT_ACTIONS)[number];

/** What a limit counts by: the client's address, the account named, or both together. */
export const RATE_LIMIT_KEYS = ['ip', 'account', 'ip_account'] as const;
export type RateLimitKey = (typeof RATE_LIMIT_KEYS)[number];

export interface RateLimitRule {
  points: number;
  seconds: number;
}

export type RateLimitRules = Record<RateLimitAction, Partial<Record<RateLimitKey, RateLimitRule>>>;

export interface RateLimitSettings {
  /** Points already multiplied by RATE_LIMIT_SCALE. */
  rules: RateLimitRules;
  scale: number;
  /** Redis keys live under `{prefix}:rl:` (a hash tag, as the queues use). */
  prefix: string;
  /** Progressive login delay: base, doubled per failure past a quarter of an account's limit, capped at max; 0 turns it off. */
  delay: { baseMs: number; maxMs: number };
  /** How long a Redis round trip may take before the per-process limiter answers instead. */
  redisTimeoutMs: number;
}

/**
 * The defaults (docs/api.md, "Rate limits"), unscaled. Login limits count failed attempts;
 * the others count every request. verify, reset and refresh carry a token, not an
 * account, so only their address is known before the work is done.
 * LOGIN_ACCOUNT must stay below half of ANOMALY_GUARD_FAILURES (a fixed window lets
 * two windows' worth of failures fall within one sliding guard window), so that a
 * guesser meets a 429 before the account is guarded: 4 × 2 = 8 < 10.
 * LOGIN_IP_ACCOUNT is above it: from a new network the account limit stops one client
 * after 4 failures, so the owner's 4th try still gets in (after the progressive delay,
 * 2 s); from a network that signed in before, whose account budget is its own, the
 * client's 5th and 6th tries get in too (after 4 s and 5 s), and its 7th is a 429.
 */
export const RATE_LIMIT_DEFAULTS: RateLimitRules = {
  login: { ip: { points: 30, seconds: 900 }, account: { points: 4, seconds: 900 }, ip_account: { points: 6, seconds: 900 } },
  // Successful sign-ins (a right password), per account and per address: each costs a full
  // hash, a session, a refresh token and year-long rows, so one holder of a password cannot
  // sign in hundreds of times a second and slow everyone's login. 60 in 15 minutes is a
  // sign-in every 15 s; an address shared by an office gets four accounts' worth.
  login_success: { ip: { points: 240, seconds: 900 }, account: { points: 60, seconds: 900 } },
  forgot: { ip: { points: 20, seconds: 3_600 }, account: { points: 5, seconds: 3_600 }, ip_account: { points: 3, seconds: 3_600 } },
  register: { ip: { points: 10, seconds: 3_600 }, account: { points: 5, seconds: 3_600 }, ip_account: { points: 3, seconds: 3_600 } },
  reset: { ip: { points: 10, seconds: 900 } },
  verify: { ip: { points: 20, seconds: 900 } },
  refresh: { ip: { points: 300, seconds: 900 } },
  // A signed-in user's password check (password change, account deletion): a stolen
  // access token must not become a way to guess the password. The account is the user id.
  reauth: { ip: { points: 30, seconds: 900 }, account: { points: 5, seconds: 900 } },
  // Verification mails a signed-in user asks for again: on top of the 60 s cooldown, so an
  // account registered with someone else's address cannot mail it every minute for ever.
  resend: { account: { points: 5, seconds: 86_400 } },
  // Wrong second-step codes (TOTP, recovery codes, WebAuthn answers) per address and per
  // account, on top of the 5 an mfa_token survives: a stolen password does not buy a
  // million TOTP guesses through fresh mfa_tokens.
  mfa: { ip: { points: 30, seconds: 900 }, account: { points: 10, seconds: 900 } },
  // Per signed-in user (the account is the user id), for the authenticated writes and the
  // expensive read: each write is an outbox row and an audit row kept for a year, an export
  // reads everything stored about the account. Generous for a person, tight for a script.
  profile: { account: { points: 60, seconds: 900 } },
  export: { account: { points: 5, seconds: 3_600 } },
  sessions: { account: { points: 60, seconds: 900 } },
  mfa_change: { account: { points: 20, seconds: 900 } },
  // Operators' writes (status, roles, sessions, second factors, replays), per administrator.
  admin: { account: { points: 600, seconds: 900 } },
  // Passkey sign-ins started (POST /login/passkey/options) per address: each one stores a
  // challenge, and no account is known yet. Its answers count under the login limits.
  passkey: { ip: { points: 60, seconds: 900 } },
};

/** The env name of one limit, e.g. RATE_LIMIT_LOGIN_IP_ACCOUNT. */
export function rateLimitEnvName(action: RateLimitAction, key: RateLimitKey): string {
  return `RATE_LIMIT_${action.toUpperCase()}_${key.toUpperCase()}`;
}

const OTHER_NAMES = ['RATE_LIMIT_SCALE', 'RATE_LIMIT_PREFIX', 'RATE_LIMIT_DELAY_BASE_MS', 'RATE_LIMIT_DELAY_MAX_MS', 'RATE_LIMIT_REDIS_TIMEOUT_MS'];
const MAX_SECONDS = 7 * 86_400;

function parseRule(env: EnvReader, name: string, raw: string): RateLimitRule | undefined {
  const match = /^\s*(\d{1,9})\s*\/\s*(\d{1,9})\s*$/.exec(raw);
  const points = Number(match?.[1]);
  const seconds = Number(match?.[2]);
  if (!match || points < 1 || seconds < 1 || seconds > MAX_SECONDS) {
    env.problems.push(`${name} must be points/seconds with both at least 1 and seconds at most ${MAX_SECONDS} (e.g. 10/900), got "${raw}"`);
    return undefined;
  }
  return { points, seconds };
}

/**
 * Reads RATE_LIMIT_<ACTION>_<KEY>=points/seconds over the defaults, scales the points,
 * and names every bad value and every unknown RATE_LIMIT_* variable (a typo would
 * otherwise leave a limit at its default without a word).
 */
export function readRateLimitSettings(env: EnvReader, source: NodeJS.ProcessEnv, queuePrefix: string): RateLimitSettings {
  const scale = env.number('RATE_LIMIT_SCALE', 1, { min: 0.001, max: 1_000_000 });
  const known = new Set(OTHER_NAMES);
  const rules = {} as RateLimitRules;
  for (const action of RATE_LIMIT_ACTIONS) {
    rules[action] = {};
    for (const key of RATE_LIMIT_KEYS) {
      const name = rateLimitEnvName(action, key);
      const fallback = RATE_LIMIT_DEFAULTS[action][key];
      const raw = env.optional(name);
      if (fallback) known.add(name);
      if (raw !== undefined && !fallback) {
        const applies = RATE_LIMIT_KEYS.filter((other) => RATE_LIMIT_DEFAULTS[action][other]).map((other) => rateLimitEnvName(action, other));
        env.problems.push(`${name} is not a limit: ${action} is limited only by ${applies.join(' and ')}`);
        continue;
      }
      const rule = raw === undefined ? fallback : parseRule(env, name, raw);
      if (rule) rules[action][key] = { points: Math.max(1, Math.round(rule.points * scale)), seconds: rule.seconds };
    }
  }
  for (const name of Object.keys(source)) {
    if (name.startsWith('RATE_LIMIT_') && !known.has(name) && !env.problems.some((problem) => problem.startsWith(`${name} `))) {
      env.problems.push(`${name} is not a known setting (limits are RATE_LIMIT_<${RATE_LIMIT_ACTIONS.join('|').toUpperCase()}>_<IP|ACCOUNT|IP_ACCOUNT>)`);
    }
  }
  const baseMs = env.int('RATE_LIMIT_DELAY_BASE_MS', 500, { min: 0, max: 60_000 });
  const maxMs = env.int('RATE_LIMIT_DELAY_MAX_MS', 5_000, { min: 0, max: 60_000 });
  const redisTimeoutMs = env.int('RATE_LIMIT_REDIS_TIMEOUT_MS', 250, { min: 10, max: 10_000 });
  return { rules, scale, prefix: env.string('RATE_LIMIT_PREFIX', queuePrefix), delay: { baseMs, maxMs }, redisTimeoutMs };
}

/**
 * The most failures the login ACCOUNT limit lets through within one guard window: a
 * window of the limit may end and the next begin inside it, so up to one more window's
 * worth than the guard window spans.
 */
export function loginFailuresWithinGuardWindow(settings: RateLimitSettings, guardWindowSeconds: number): number {
  const rule = settings.rules.login.account;
  if (!rule) return Infinity;
  return rule.points * (Math.ceil(guardWindowSeconds / rule.seconds) + 1);
}
