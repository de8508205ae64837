import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { AppError } from '../errors.js';
import { loadOnce } from '../load-once.js';

export interface PasswordRules {
  minLength: number;
  maxLength: number;
  /** zxcvbn score (0-4) a password must reach. */
  minScore: number;
}

/** zxcvbn with its dictionaries: a quarter of a second to load, so loaded on first use (or by warmUp). */
async function loadEstimator(rules: PasswordRules): Promise<ZxcvbnFactory> {
  const [{ ZxcvbnFactory }, common, english] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]);
  return new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
    // The estimate is synchronous and grows steeply with length and l33t candidates: a
    // 256-character random password blocked the event loop for seconds. Judging the
    // first 100 characters with few l33t substitutions keeps it to tens of milliseconds;
    // a prefix that strong makes the whole password strong.
    maxLength: Math.min(rules.maxLength, 100),
    l33tMaxSubstitutions: 4,
  });
}

/**
 * NIST 800-63B style: length bounds, no composition rules, and a strength estimate
 * that refuses common passwords and ones built from the user's own email. The estimator
 * is loaded by the first password it judges (about 0.25 s, once), not at start: every
 * process builds a policy, only the web role uses it, and a web process is ready sooner.
 */
export class PasswordPolicy {
  private readonly zxcvbn: () => Promise<ZxcvbnFactory>;

  constructor(private readonly rules: PasswordRules) {
    this.zxcvbn = loadOnce(() => loadEstimator(rules));
  }

  /** NFKC form of a password, the only form that is ever hashed or verified. */
  static normalize(password: string): string {
    return password.normalize('NFKC');
  }

  /** The normalized password, or 400 invalid_request saying what to change. */
  async check(raw: string, email: string, field = 'password'): Promise<string> {
    const password = PasswordPolicy.normalize(raw);
    const length = [...password].length;
    const invalid = (reason: string) => new AppError('invalid_request', { message: 'The password is not acceptable.', fields: { [field]: reason } });
    if (length < this.rules.minLength) throw invalid(`must be at least ${this.rules.minLength} characters`);
    if (length > this.rules.maxLength) throw invalid(`must be at most ${this.rules.maxLength} characters`);
    const local = email.slice(0, email.lastIndexOf('@'));
    const inputs = [email, local, ...local.split(/[._+-]/).filter((part) => part.length >= 3)];
    if (password.toLowerCase().includes(email.toLowerCase())) throw invalid('must not contain your email address');
    const { score } = (await this.zxcvbn()).check(password, inputs);
    if (score < this.rules.minScore) throw invalid('is too common or too easy to guess');
    return password;
  }
}
