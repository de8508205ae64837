import { escapeHtml } from './escape-html.js';
import type { MailLocale } from './mail-locale.js';

/** What a template produces; the worker adds the recipient (always the stored address). */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

export interface MailParts {
  locale: MailLocale;
  subject: string;
  greeting: string;
  /** Paragraphs before the link (or all of them when there is none). */
  intro: string[];
  /** The one link of the mail, with the label of its button. */
  action?: { label: string; url: string };
  /** Paragraphs after the link. */
  outro: string[];
  signature: string;
}

/**
 * Lays a mail out as a text part and an HTML part. The text part holds the link once
 * and no other URL; every value is HTML-escaped in the HTML part.
 */
export function renderMail(parts: MailParts): MailContent {
  const text = [
    parts.greeting,
    ...parts.intro,
    ...(parts.action ? [parts.action.url] : []),
    ...parts.outro,
    parts.signature,
  ].join('\n\n');

  const paragraph = (line: string) => `<p style="margin:0 0 16px">${escapeHtml(line)}</p>`;
  const action = parts.action
    ? `<p style="margin:24px 0"><a href="${escapeHtml(parts.action.url)}" style="background:#1d4ed8;color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block">${escapeHtml(parts.action.label)}</a></p>` +
      `<p style="margin:0 0 16px;font-size:13px;color:#555555;word-break:break-all">${escapeHtml(parts.action.url)}</p>`
    : '';
  const html = `<!doctype html>
<html lang="${escapeHtml(parts.locale)}"><head><meta charset="utf-8"><title>${escapeHtml(parts.subject)}</title></head>
<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#111111;line-height:1.5;max-width:560px;margin:0 auto;padding:24px">
${paragraph(parts.greeting)}
${parts.intro.map(paragraph).join('\n')}
${action}
${parts.outro.map(paragraph).join('\n')}
${paragraph(parts.signature)}
</body></html>
`;
  return { subject: parts.subject, text: `${text}\n`, html };
}
