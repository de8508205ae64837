import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { AppError, type ErrorCode } from '../errors.js';

/** Every series this service exports starts with this, Node's default process metrics included. */
export const METRICS_PREFIX = 'user_services_';

/** Where a sign-in attempt was decided: the password step (POST /login, the dashboard) or the second factor. */
export type LoginStep = 'password' | 'second_factor' | 'passkey';

/**
 * The results login_attempts_total counts, each started at 0 so a rate exists before
 * the first of its kind. Refusals are named after their error code; a login that needs
 * its second factor is mfa_required.
 */
export const LOGIN_RESULTS = [
  'success',
  'mfa_required',
  'invalid_credentials',
  'invalid_code',
  'invalid_token',
  'locked',
  'disabled',
  'password_reset_required',
  'rate_limited',
  'unavailable',
  'error',
] as const;
export type LoginResult = (typeof LOGIN_RESULTS)[number];

const RESULT_OF_CODE: Partial<Record<ErrorCode, LoginResult>> = {
  invalid_credentials: 'invalid_credentials',
  invalid_code: 'invalid_code',
  invalid_token: 'invalid_token',
  account_locked: 'locked',
  account_disabled: 'disabled',
  password_reset_required: 'password_reset_required',
  rate_limited: 'rate_limited',
  unavailable: 'unavailable',
};

/** The login_attempts_total result of a sign-in that threw: its error code's, `error` for anything unexpected. */
export function loginResultOf(error: unknown): LoginResult {
  return (error instanceof AppError && RESULT_OF_CODE[error.code]) || 'error';
}

/**
 * The process's metrics: one Registry per process (built with its services, never
 * prom-client's global one, so tests can build several graphs side by side), and the
 * counters and histograms the code feeds as things happen. Gauges that describe state
 * (queues, outbox, hashing queue) are read when scraped, by the collectors registered
 * on `registry` by the parts that own that state.
 */
export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'route' | 'method' | 'status'>;
  loginAttempts: Counter<'step' | 'result'>;
  relayPublished: Counter<'result'>;
  relayConfirmDuration: Histogram;
  mailsSent: Counter<'kind'>;
  mailsFailed: Counter<'kind'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const loginAttempts = new Counter({
    name: `${METRICS_PREFIX}login_attempts_total`,
    help: 'Sign-in attempts by step and result.',
    labelNames: ['step', 'result'] as const,
    registers,
  });
  for (const result of LOGIN_RESULTS) loginAttempts.inc({ step: 'password', result }, 0);
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: `${METRICS_PREFIX}http_request_duration_seconds`,
      help: 'HTTP requests of the public API by route template, method and status.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    loginAttempts,
    relayPublished: new Counter({
      name: `${METRICS_PREFIX}relay_published_total`,
      help: 'Outbox rows the relay published, by result: confirmed by the broker, or failed (nacked, refused, timed out, broker away).',
      labelNames: ['result'] as const,
      registers,
    }),
    relayConfirmDuration: new Histogram({
      name: `${METRICS_PREFIX}relay_confirm_duration_seconds`,
      help: 'Time from publishing an outbox batch to the last of its confirms (or its failure).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    mailsSent: new Counter({
      name: `${METRICS_PREFIX}mails_sent_total`,
      help: 'Mails the email worker handed to the SMTP server (or wrote as .eml files), by job.',
      labelNames: ['kind'] as const,
      registers,
    }),
    mailsFailed: new Counter({
      name: `${METRICS_PREFIX}mails_failed_total`,
      help: 'Mails whose sending failed (their job is retried, or failed for good on a permanent SMTP refusal), by job.',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}

/**
 * Node's default process metrics (CPU, memory, event loop lag, GC, handles), with the
 * prefix. Only a process that serves /metrics collects them: each collection keeps an
 * event-loop monitor and a GC observer running for the life of the process.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
}

/**
 * How often the event-loop monitor samples. prom-client's default, 10 ms, wakes an idle
 * process 100 times a second, which cost an idle worker process about half of its CPU;
 * a stall still shows in full, since it delays the sample that falls in it.
 */
const EVENT_LOOP_SAMPLE_MS = 50;
