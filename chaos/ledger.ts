import type { Outcome } from './http-call.js';

/** A window of the run: the baseline before the first fault, then each fault until the next one starts. */
export interface Phase {
  name: string;
  start: number;
  /** When the fault's injection was done (the service may still be recovering). */
  injected?: number;
  /** First /ready with every check ok after the fault began. */
  readyAt?: number;
  /** What the fault did, as it told (which process it killed, an unclean exit). */
  notes: string[];
  /** When the fault killed a web process (kill -9): the requests it held are reset. */
  webKills: number[];
}

export type PromiseKind = 'register' | 'login' | 'refresh' | 'forgot';

export interface Promised {
  kind: PromiseKind;
  phase: string;
  at: number;
  userId: string;
  email: string;
  /** login and refresh: the session and the refresh token handed out. */
  sessionId?: string;
  refreshToken?: string;
  /** forgot: when the request was sent. */
  sentAt?: number;
}

/** The statuses the contract allows each route to answer; anything else is a broken answer. */
export const ALLOWED: Record<string, number[]> = {
  register: [201, 409, 429, 503],
  login: [200, 401, 429, 503],
  refresh: [200, 401, 429, 503],
  forgot: [202, 429, 503],
  reset: [200, 400, 429, 503],
  profile: [200, 401, 429, 503],
  logout: [204, 401, 429, 503],
};

export interface PhaseCounts {
  byStatus: Map<string, number>;
  /** Answers outside the contract: a 500, an unknown status, a 503 without Retry-After. */
  bad: string[];
  hangs: number;
  /** Connection resets a web process's kill -9 does not explain (none within 3 s after one). */
  unexplainedResets: number;
  registrations: { sent: number; created: number };
}

/** What the clients were promised and what they were answered, by phase. */
export class Ledger {
  readonly phases: Phase[] = [{ name: 'baseline', start: Date.now(), notes: [], webKills: [] }];
  readonly promises: Promised[] = [];
  readonly counts = new Map<string, PhaseCounts>();
  /** Refresh chains that a refresh answered 401 while the client held its latest token. */
  readonly brokenChains: string[] = [];
  /** Chains whose last refresh got no answer, so a 401 after it may be legitimate reuse detection. */
  ambiguousChains = 0;
  /**
   * Reset tokens a client used (200), by hash: the maintenance role purges consumed
   * tokens, so the database alone no longer shows they were issued.
   */
  readonly consumedResetTokens = new Map<string, { userId: string; email: string }>();
  /** Every successful login: when it was sent and answered. */
  readonly logins: { sentAt: number; at: number }[] = [];

  current(): Phase {
    return this.phases[this.phases.length - 1]!;
  }

  phaseAt(time: number): Phase {
    for (let index = this.phases.length - 1; index >= 0; index -= 1) if (this.phases[index]!.start <= time) return this.phases[index]!;
    return this.phases[0]!;
  }

  begin(name: string): Phase {
    const phase: Phase = { name, start: Date.now(), notes: [], webKills: [] };
    this.phases.push(phase);
    return phase;
  }

  countsOf(phase: string): PhaseCounts {
    let counts = this.counts.get(phase);
    if (!counts) {
      counts = { byStatus: new Map(), bad: [], hangs: 0, unexplainedResets: 0, registrations: { sent: 0, created: 0 } };
      this.counts.set(phase, counts);
    }
    return counts;
  }

  /**
   * Records the answer to a request of `route` sent at `sentAt`, in the phase it was sent
   * in; a reset in the phase it happened in (a kill cuts requests sent before it).
   */
  answer(route: string, sentAt: number, outcome: Outcome): void {
    const phase = this.phaseAt(outcome.kind === 'reset' ? Date.now() : sentAt);
    const counts = this.countsOf(phase.name);
    const label = outcome.kind === 'answer' ? String(outcome.status) : outcome.kind;
    counts.byStatus.set(label, (counts.byStatus.get(label) ?? 0) + 1);
    if (route === 'register') {
      counts.registrations.sent += 1;
      if (outcome.kind === 'answer' && outcome.status === 201) counts.registrations.created += 1;
    }
    const now = Date.now();
    if (outcome.kind === 'hang') counts.hangs += 1;
    else if (outcome.kind === 'reset') {
      if (!phase.webKills.some((killedAt) => now >= killedAt && now - killedAt < 3_000)) counts.unexplainedResets += 1;
    } else if (outcome.kind === 'refused') counts.bad.push(`${route}: connection refused by the proxy`);
    else if (!ALLOWED[route]?.includes(outcome.status)) counts.bad.push(`${route}: ${outcome.status} ${JSON.stringify(outcome.body).slice(0, 200)}`);
    else if (outcome.status === 503 && !outcome.retryAfter) counts.bad.push(`${route}: 503 without Retry-After`);
    if (route === 'login' && outcome.kind === 'answer' && outcome.status === 200) this.logins.push({ sentAt, at: now });
  }

  /** The first successful login sent once the fault's injection was over: how soon users get in again. */
  firstLoginAfter(phase: Phase): number | undefined {
    const from = phase.injected ?? phase.start;
    return this.logins.find((login) => login.sentAt >= from)?.at;
  }

  promise(promised: Omit<Promised, 'phase' | 'at'>, sentAt: number): void {
    this.promises.push({ ...promised, phase: this.phaseAt(sentAt).name, at: Date.now() });
  }
}
