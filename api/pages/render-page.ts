import type { Context } from 'koa';
import { escapeHtml } from '../../shared/mail/templates/escape-html.js';

export interface PageForm {
  /** Relative to the page (so it posts to the same route, under any path prefix). */
  action: string;
  hidden: Record<string, string>;
  /** A visible email input, shown before the password fields (the dashboard's sign-in page). */
  emailField?: { name: string; label: string; value?: string };
  /** Visible password inputs; `current` for a sign-in (the browser offers the saved one), a new password otherwise. */
  passwordFields?: Array<{ name: string; label: string; minLength: number; maxLength: number; current?: true }>;
  /** A visible one-time-code input (the dashboard's second step). */
  codeField?: { name: string; label: string; maxLength: number };
  submit: string;
}

export interface Page {
  title: string;
  paragraphs: string[];
  /** Shown above the form, marked as an error. */
  error?: string;
  form?: PageForm;
}

function renderForm(form: PageForm): string {
  const hidden = Object.entries(form.hidden)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const email = form.emailField
    ? `<label for="${escapeHtml(form.emailField.name)}">${escapeHtml(form.emailField.label)}</label>\n` +
      `<input type="email" id="${escapeHtml(form.emailField.name)}" name="${escapeHtml(form.emailField.name)}" value="${escapeHtml(form.emailField.value ?? '')}" autocomplete="username" required>\n`
    : '';
  const fields = (form.passwordFields ?? [])
    .map(
      (field) =>
        `<label for="${escapeHtml(field.name)}">${escapeHtml(field.label)}</label>\n` +
        `<input type="password" id="${escapeHtml(field.name)}" name="${escapeHtml(field.name)}" autocomplete="${field.current ? 'current-password' : 'new-password'}" required minlength="${field.minLength}" maxlength="${field.maxLength}">`,
    )
    .join('\n');
  const code = form.codeField
    ? `<label for="${escapeHtml(form.codeField.name)}">${escapeHtml(form.codeField.label)}</label>\n` +
      `<input type="text" id="${escapeHtml(form.codeField.name)}" name="${escapeHtml(form.codeField.name)}" inputmode="numeric" autocomplete="one-time-code" required maxlength="${form.codeField.maxLength}">\n`
    : '';
  return `<form method="post" action="${escapeHtml(form.action)}">\n${hidden}\n${email}${fields}${code}\n<button type="submit">${escapeHtml(form.submit)}</button>\n</form>`;
}

/**
 * A small self-contained HTML page that works under the API's CSP (helmet's defaults:
 * no script at all, inline style only, forms posting to 'self').
 */
export function renderPage(page: Page): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(page.title)}</title>
<style>body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#111;max-width:28rem;margin:4rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin:1rem 0 .25rem}input[type=email],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem;background:#1d4ed8;color:#fff;border:0;border-radius:.3rem;font-size:1rem}
.error{color:#b91c1c}</style></head>
<body><main>
<h1>${escapeHtml(page.title)}</h1>
${page.paragraphs.map((text) => `<p>${escapeHtml(text)}</p>`).join('\n')}
${page.error ? `<p class="error" role="alert">${escapeHtml(page.error)}</p>` : ''}
${page.form ? renderForm(page.form) : ''}
</main></body></html>
`;
}

/** Answers with a page; pages that hold a token are never cached. */
export function sendPage(ctx: Context, status: number, page: Page): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = renderPage(page);
}

/** Whether a request came from one of these pages' forms, so it is answered with a page. */
export function isFormPost(ctx: Context): boolean {
  return ctx.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';
}
