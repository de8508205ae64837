/** What the history in login_attempts says about one attempt (see login-features.ts). */
export interface LoginFeatures {
  /** The account signed in successfully before this attempt; without that, nothing is "new". */
  hasPriorSuccess: boolean;
  /** No earlier successful sign-in of this account came from this IPv4 /24 or IPv6 /64. */
  newIpPrefix: boolean;
  /** No earlier successful sign-in of this account used this user agent. */
  newUserAgent: boolean;
  /** Failed attempts on this account within the velocity window before this one. */
  accountFailures: number;
  /** Failed attempts from this IP (on any email) within the velocity window before this one. */
  ipFailures: number;
  /** Seconds since the account's previous successful sign-in; null when there was none. */
  secondsSinceLastSuccess: number | null;
}

export type RiskReasonCode = 'new_ip_prefix' | 'new_user_agent' | 'account_failure_velocity' | 'ip_failure_velocity' | 'dormant_account';

export interface RiskReason {
  code: RiskReasonCode;
  points: number;
  /** The number behind the reason (failures counted, days dormant), when there is one. */
  value?: number;
}

export interface RiskScore {
  /** 0 (nothing unusual) to 100. */
  score: number;
  reasons: RiskReason[];
}

/**
 * The points each signal adds. A new place and a new device together (60) cross the
 * default notify threshold of 50; either alone does not, unless failures preceded it.
 */
export const RISK_POINTS = {
  newIpPrefix: 35,
  newUserAgent: 25,
  perAccountFailure: 5,
  maxAccountFailures: 30,
  ipFailuresSome: 10,
  ipFailuresMany: 20,
  dormantAccount: 15,
} as const;

const IP_FAILURES_SOME = 3;
const IP_FAILURES_MANY = 10;

/** Scores one login attempt from its features: a pure function, so a re-run scores the same. */
export function scoreLoginAttempt(features: LoginFeatures, options: { dormantDays: number }): RiskScore {
  const reasons: RiskReason[] = [];
  if (features.hasPriorSuccess && features.newIpPrefix) reasons.push({ code: 'new_ip_prefix', points: RISK_POINTS.newIpPrefix });
  if (features.hasPriorSuccess && features.newUserAgent) reasons.push({ code: 'new_user_agent', points: RISK_POINTS.newUserAgent });
  if (features.accountFailures > 0) {
    const points = Math.min(features.accountFailures * RISK_POINTS.perAccountFailure, RISK_POINTS.maxAccountFailures);
    reasons.push({ code: 'account_failure_velocity', points, value: features.accountFailures });
  }
  if (features.ipFailures >= IP_FAILURES_SOME) {
    const points = features.ipFailures >= IP_FAILURES_MANY ? RISK_POINTS.ipFailuresMany : RISK_POINTS.ipFailuresSome;
    reasons.push({ code: 'ip_failure_velocity', points, value: features.ipFailures });
  }
  const dormantSeconds = options.dormantDays * 86_400;
  if (features.secondsSinceLastSuccess !== null && features.secondsSinceLastSuccess >= dormantSeconds) {
    const days = Math.floor(features.secondsSinceLastSuccess / 86_400);
    reasons.push({ code: 'dormant_account', points: RISK_POINTS.dormantAccount, value: days });
  }
  const score = Math.min(100, reasons.reduce((sum, reason) => sum + reason.points, 0));
  return { score, reasons };
}
