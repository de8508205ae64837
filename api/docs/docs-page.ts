import { escapeHtml } from '../../shared/mail/templates/escape-html.js';
import type { RedocBundle } from './redoc-bundle.js';

/** Where Redoc reads the API's document from. */
export const OPENAPI_DOCUMENT_PATH = '/openapi.json';

/**
 * The docs page's Content-Security-Policy, in place of the API's (helmet's, which allows no
 * script): everything comes from the service itself, nothing from another origin.
 */
const DOCS_CSP: Record<string, string> = {
  'default-src': "'none'",
  'script-src': "'self'",
  // Redoc styles itself at run time: styled-components writes its rules into <style>
  // elements it creates, and under style-src 'self' the browser refuses them and Redoc
  // fails to render. Redoc 2.5's nonce option does not reach all of them (the standalone
  // bundle makes some before it reads its options), so inline style has to be allowed.
  // Style cannot run script, and with img-src, font-src and connect-src held to 'self'
  // it cannot send anything elsewhere.
  'style-src': "'self' 'unsafe-inline'",
  'img-src': "'self' data:",
  'font-src': "'self'",
  // Redoc fetches the document from the service.
  'connect-src': "'self'",
  // Redoc's search index runs in a worker it makes from a blob: URL.
  'worker-src': 'blob:',
  'form-action': "'none'",
  'frame-ancestors': "'none'",
  'base-uri': "'none'",
};

const DOCS_CSP_HEADER = Object.entries(DOCS_CSP)
  .map(([directive, sources]) => `${directive} ${sources}`)
  .join('; ');

const SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const SYSTEM_MONOSPACE = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace';

/**
 * Redoc's theme, with the fonts the reader already has: its defaults name Roboto and
 * Montserrat, which a page that loads nothing from elsewhere would not have.
 */
const THEME = {
  typography: {
    fontFamily: SYSTEM_FONTS,
    headings: { fontFamily: SYSTEM_FONTS },
    code: { fontFamily: SYSTEM_MONOSPACE },
  },
};

/**
 * The page: Redoc's standalone bundle starts itself on the <redoc> element and reads its
 * options from the element's attributes (the theme as JSON), so the page needs no inline
 * script.
 */
export function renderDocsPage(bundle: RedocBundle): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>user-services API</title>
<link rel="icon" href="data:,">
<style>body{margin:0}</style></head>
<body>
<redoc spec-url="${escapeHtml(OPENAPI_DOCUMENT_PATH)}" theme="${escapeHtml(JSON.stringify(THEME))}"></redoc>
<script src="${escapeHtml(bundle.url)}"></script>
</body></html>
`;
}

/**
 * The docs page's headers: its own CSP in place of the API's, and a revalidation each
 * time, since the page names the bundle by its hash (an upgrade shows at once).
 */
export const DOCS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': DOCS_CSP_HEADER,
  'Cache-Control': 'no-cache',
};
