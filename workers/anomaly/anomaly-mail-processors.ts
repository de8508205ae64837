import type { Config } from '../../shared/config/config.js';
import { hashToken, randomToken } from '../../shared/crypto/random-token.js';
import { findLoginAttemptSummaries } from '../../shared/db/queries/login-attempts.js';
import { insertSecurityTokens } from '../../shared/db/queries/security-tokens.js';
import { describeDevice } from '../../shared/domain/anomaly/describe-device.js';
import { FAILURE_BURST } from '../../shared/domain/anomaly/guard-account.js';
import { mailLink } from '../../shared/mail/mail-link.js';
import { accountGuardedMail } from '../../shared/mail/templates/account-guarded.js';
import { newSignInMail } from '../../shared/mail/templates/new-sign-in.js';
import type { MailKind, MailKinds } from '../email/mail-kind.js';

/** The route of the "this wasn't me" page that the new-sign-in notice links to. */
export const NOT_ME_ROUTE = '/security/not-me';

/**
 * send-new-sign-in-mail (owed by the anomaly worker for a risky LoginSucceeded): a
 * single-use "this wasn't me" token per mail, written in the reaction's transaction, and
 * the notice with its link, the time, the IP and a coarse device name.
 */
function newSignInMailKind(config: Pick<Config, 'publicUrl' | 'anomaly'>): MailKind<'send-new-sign-in-mail'> {
  return async (tx, entries) => {
    const attemptIds = entries.map(({ event }) => event.data.attempt_id);
    const attempts = new Map((await findLoginAttemptSummaries(tx, attemptIds)).map((attempt) => [attempt.id, attempt]));
    const tokens = entries.map(() => randomToken());
    await insertSecurityTokens(
      tx,
      'not_me',
      entries.map(({ recipient, event }, index) => ({
        userId: recipient.id,
        tokenHash: hashToken(tokens[index]!),
        attemptId: attempts.get(event.data.attempt_id)?.id,
      })),
      config.anomaly.notMeTtlSeconds,
    );
    return entries.map(({ recipient, event }, index) => {
      const attempt = attempts.get(event.data.attempt_id);
      return newSignInMail(recipient.locale, {
        link: mailLink(config.publicUrl, NOT_ME_ROUTE, tokens[index]!),
        signedInAt: attempt?.created_at ?? new Date(event.occurred_at),
        ip: attempt?.ip ?? undefined,
        device: describeDevice(attempt?.user_agent),
        hours: Math.round(config.anomaly.notMeTtlSeconds / 3_600),
      });
    });
  };
}

/**
 * send-account-guarded-mail (on UserLocked): the owner learns until when sign-ins from
 * new places are refused. A UserLocked for another reason is not a guard: no mail.
 */
function accountGuardedMailKind(): MailKind<'send-account-guarded-mail'> {
  return async (_tx, entries) =>
    entries.map(({ recipient, event }) =>
      event.data.reason === FAILURE_BURST
        ? accountGuardedMail(recipient.locale, { until: new Date(event.data.until) })
        : undefined,
    );
}

/**
 * The anomaly role's mails, sent by the email role: spread into its kinds of mail
 * (workers/email/start-email-worker.ts), each becomes a batched processor there.
 */
export function anomalyMailKinds(config: Pick<Config, 'publicUrl' | 'anomaly'>): MailKinds {
  return {
    'send-new-sign-in-mail': newSignInMailKind(config),
    'send-account-guarded-mail': accountGuardedMailKind(),
  };
}
