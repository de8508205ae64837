import crypto from 'node:crypto';
import { hashToken } from '../shared/crypto/random-token.js';
import type { ReceivedMail, SmtpSink } from '../test/support/smtp-sink.js';
import { call, type Outcome } from './http-call.js';
import type { Ledger } from './ledger.js';

/** A password no policy refuses: long, random, unrelated to the address. */
const newPassword = () => `Chaos ${crypto.randomBytes(12).toString('base64url')} pass`;
const FORGOT_EVERY_MS = 70_000; // past the 60 s mail cooldown, so every accepted forgot is owed a mail

/** The token of the mail's link to `route` (`/password/reset`, `/email/verify`), if it has one. */
export function tokenInMail(mail: ReceivedMail, route: string): string | undefined {
  const match = new RegExp(`${route.replace(/\//g, '\\/')}\\?token=([A-Za-z0-9_%-]+)`).exec(mail.parsed.text ?? '');
  return match ? decodeURIComponent(match[1]!) : undefined;
}

/** The token of the newest mail to `email` whose link goes to `route`, received after `since`. */
function tokenFromMail(sink: SmtpSink, email: string, route: string, since: number): string | undefined {
  let token: string | undefined;
  for (const mail of sink.mailsTo(email)) if (mail.receivedAt >= since) token = tokenInMail(mail, route) ?? token;
  return token;
}

function sessionIdOf(accessToken: string): string | undefined {
  try {
    return (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { sid?: string }).sid;
  } catch {
    return undefined;
  }
}

/** One end user: registers, signs in, refreshes, edits the profile, forgets and resets the password, logs out. */
export class Client {
  readonly email = `chaos-${crypto.randomBytes(6).toString('hex')}@example.com`;
  /** Candidates, newest first: a reset whose answer was lost may or may not have changed it. */
  private passwords = [newPassword()];
  userId: string | undefined;
  private registered = false;
  private session: { token: string; refresh: string; id: string } | undefined;
  /** The last refresh got no answer: the server may have rotated the token meanwhile. */
  private refreshUnsure = false;
  private forgotAt = 0;
  private resetPendingSince: number | undefined;
  busy = false;

  constructor(
    private readonly port: number,
    private readonly ledger: Ledger,
    private readonly sink: SmtpSink,
  ) {}

  private async request(route: string, method: string, path: string, options: { json?: unknown; token?: string }): Promise<Outcome> {
    const sentAt = Date.now();
    const outcome = await call(this.port, method, path, options);
    this.ledger.answer(route, sentAt, outcome);
    return outcome;
  }

  /** The next step of this user's life; one request at most. */
  async step(): Promise<void> {
    if (!this.registered) return this.register();
    if (this.resetPendingSince !== undefined) {
      const token = tokenFromMail(this.sink, this.email, '/password/reset', this.resetPendingSince);
      if (token) return this.reset(token);
    }
    if (!this.session) return this.login();
    const roll = Math.random();
    if (roll < 0.45) return this.refresh();
    if (roll < 0.75) return this.updateProfile();
    if (roll < 0.85 && Date.now() - this.forgotAt > FORGOT_EVERY_MS && this.resetPendingSince === undefined) return this.forgot();
    if (roll < 0.92) return this.logout();
    return this.refresh();
  }

  private async register(): Promise<void> {
    const sentAt = Date.now();
    const outcome = await this.request('register', 'POST', '/register', { json: { email: this.email, password: this.passwords[0], display_name: 'Chaos Client' } });
    if (outcome.kind !== 'answer') return;
    if (outcome.status === 201) {
      this.registered = true;
      this.userId = String(outcome.body.user_id);
      this.ledger.promise({ kind: 'register', userId: this.userId, email: this.email }, sentAt);
    } else if (outcome.status === 409) {
      // An earlier attempt was committed but its answer lost: the account is there.
      this.registered = true;
    }
  }

  private async login(): Promise<void> {
    for (const password of this.passwords) {
      const sentAt = Date.now();
      const outcome = await this.request('login', 'POST', '/login', { json: { email: this.email, password } });
      if (outcome.kind !== 'answer') return;
      if (outcome.status === 200) {
        this.passwords = [password];
        return this.adopt(outcome.body, 'login', sentAt);
      }
      if (outcome.status !== 401) return;
    }
  }

  private adopt(body: Record<string, unknown>, kind: 'login' | 'refresh', sentAt: number): void {
    const token = String(body.token);
    const refresh = String(body.refresh_token);
    const id = sessionIdOf(token) ?? '';
    this.session = { token, refresh, id };
    this.refreshUnsure = false;
    this.ledger.promise({ kind, userId: this.userId ?? '', email: this.email, sessionId: id, refreshToken: refresh }, sentAt);
  }

  private async refresh(): Promise<void> {
    const session = this.session!;
    const sentAt = Date.now();
    const outcome = await this.request('refresh', 'POST', '/token/refresh', { json: { refresh_token: session.refresh } });
    if (outcome.kind !== 'answer') {
      this.refreshUnsure = true;
      return;
    }
    if (outcome.status === 200) return this.adopt(outcome.body, 'refresh', sentAt);
    if (outcome.status === 401) {
      if (this.refreshUnsure) this.ledger.ambiguousChains += 1;
      else this.ledger.brokenChains.push(`${this.email} session ${session.id}`);
      this.session = undefined;
    }
  }

  private async updateProfile(): Promise<void> {
    const outcome = await this.request('profile', 'PATCH', '/me/profile', { json: { display_name: `Chaos ${crypto.randomInt(1e6)}` }, token: this.session!.token });
    if (outcome.kind === 'answer' && outcome.status === 401) this.session = undefined;
  }

  private async logout(): Promise<void> {
    const outcome = await this.request('logout', 'POST', '/logout', { token: this.session!.token });
    // Whatever the answer, this client's chain is its own business from now on.
    if (outcome.kind === 'answer' && outcome.status !== 503 && outcome.status !== 429) this.session = undefined;
    if (outcome.kind !== 'answer') this.session = undefined;
  }

  private async forgot(): Promise<void> {
    const sentAt = Date.now();
    this.forgotAt = sentAt;
    const outcome = await this.request('forgot', 'POST', '/password/forgot', { json: { email: this.email } });
    if (outcome.kind === 'answer' && outcome.status === 202 && this.userId) {
      this.resetPendingSince = sentAt;
      this.ledger.promise({ kind: 'forgot', userId: this.userId, email: this.email, sentAt }, sentAt);
    }
  }

  private async reset(token: string): Promise<void> {
    const password = newPassword();
    const outcome = await this.request('reset', 'POST', '/password/reset', { json: { token, password } });
    if (outcome.kind === 'answer' && outcome.status === 503) return;
    this.passwords = outcome.kind === 'answer' && outcome.status === 200 ? [password] : [password, ...this.passwords];
    // Unanswered, it may have been used: a token still unused keeps its row, so counting it here is harmless.
    if (outcome.kind !== 'answer' || outcome.status === 200) this.ledger.consumedResetTokens.set(hashToken(token), { userId: this.userId ?? '', email: this.email });
    if (outcome.kind === 'answer' && outcome.status === 400) this.passwords = this.passwords.slice(1);
    this.resetPendingSince = undefined;
    // A reset ends every session: the chain ended by the user's own act.
    if (outcome.kind !== 'answer' || outcome.status === 200) this.session = undefined;
  }

  /** The final check of the chain: a client still holding a session can refresh it. */
  async finalRefresh(): Promise<'ok' | 'broken' | 'none'> {
    if (!this.session) return 'none';
    const before = this.ledger.brokenChains.length;
    await this.refresh();
    return this.ledger.brokenChains.length > before ? 'broken' : 'ok';
  }
}

export interface Traffic {
  clients: Client[];
  stop(): Promise<void>;
}

/**
 * Steady mixed traffic at `perMinute` requests: a tick every 60000/perMinute ms hands the
 * next step to an idle client (each client runs one request at a time); new users keep
 * arriving, about one step in eight being a registration.
 */
export function startTraffic(port: number, ledger: Ledger, sink: SmtpSink, perMinute: number, initialClients = 30): Traffic {
  const clients: Client[] = Array.from({ length: initialClients }, () => new Client(port, ledger, sink));
  const running = new Set<Promise<void>>();
  let cursor = 0;
  const run = (client: Client) => {
    client.busy = true;
    const step = client.step().finally(() => {
      client.busy = false;
      running.delete(step);
    });
    running.add(step);
  };
  const timer = setInterval(() => {
    // A newcomer registers at once, so registrations are spread evenly over the run.
    if (Math.random() < 0.12) {
      const client = new Client(port, ledger, sink);
      clients.push(client);
      return run(client);
    }
    for (let tries = 0; tries < clients.length; tries += 1) {
      const client = clients[cursor++ % clients.length]!;
      if (!client.busy) return run(client);
    }
  }, 60_000 / perMinute);
  return {
    clients,
    async stop() {
      clearInterval(timer);
      await Promise.all(running);
    },
  };
}
