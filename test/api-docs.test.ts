import { expect } from 'chai';
import { requestsOutside, withPage } from './support/browser.js';
import { testApp } from './support/hooks.js';
import { request } from './support/http.js';

/** The docs page's policy as agreed: only the service's own origin, inline style for Redoc, a blob: worker for its search. */
const EXPECTED_CSP: Record<string, string[]> = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'worker-src': ['blob:'],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
};

function parseCsp(header: string): Record<string, string[]> {
  const directives: Record<string, string[]> = {};
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (!name) continue;
    expect(directives, `directive ${name} given twice`).not.to.have.property(name);
    directives[name.toLowerCase()] = sources;
  }
  return directives;
}

interface OpenApiOperation {
  summary?: string;
  operationId?: string;
}
interface OpenApiDocument {
  info: { title: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
}

/** The first operation of the document that has a summary: Redoc shows the summary as the operation's heading. */
function firstOperation(document: OpenApiDocument): { method: string; path: string; summary: string } {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (operation.summary) return { method, path, summary: operation.summary };
    }
  }
  throw new Error('the OpenAPI document has no operation with a summary to look for');
}

/** The script the page loads, read from its HTML. */
function bundleUrl(html: string): string {
  const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((match) => match[1]!);
  expect(scripts, 'the page loads one script').to.have.length(1);
  return scripts[0]!.replaceAll('&amp;', '&');
}

describe('GET /docs (API reference)', () => {
  it('answers an HTML page under a CSP that allows only the service itself', async () => {
    const page = await request('GET', '/docs');
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html; charset=utf-8/);
    expect(page.text).to.include('<title>user-services API</title>');
    expect(page.text).to.include('spec-url="/openapi.json"');
    expect(page.text).not.to.match(/https?:\/\//);
    expect(parseCsp(page.headers.get('content-security-policy') ?? '')).to.deep.equal(EXPECTED_CSP);
    // Only the page's header is its own: the API's answers keep helmet's policy.
    expect((await request('GET', '/health')).headers.get('content-security-policy')).to.include("script-src 'self'").and.not.include('worker-src');
  });

  it('serves the Redoc bundle itself, cached for a year under its content hash', async () => {
    const url = bundleUrl((await request('GET', '/docs')).text);
    expect(url).to.match(/^\/docs\/redoc\.standalone\.js\?v=[\w-]+$/);
    const bundle = await request('GET', url);
    expect(bundle.status).to.equal(200);
    expect(bundle.headers.get('content-type')).to.match(/^text\/javascript/);
    expect(bundle.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    expect(bundle.text).to.include('Redoc');
    const etag = bundle.headers.get('etag');
    expect(etag).to.be.a('string');
    // fetch() adds `cache-control: no-cache` to a conditional request, which would forbid the 304.
    const revalidated = await request('GET', url, { headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' } });
    expect(revalidated.status).to.equal(304);
    expect(revalidated.text).to.equal('');
    // Asked for under another hash (a page from before an upgrade), it is not cached for long.
    expect((await request('GET', '/docs/redoc.standalone.js?v=old')).headers.get('cache-control')).to.equal('no-cache');
  });

  it('renders the OpenAPI document in a headless browser with no request elsewhere, no CSP violation and no console error', async function () {
    this.timeout(90_000);
    const document = (await request<OpenApiDocument>('GET', '/openapi.json')).body;
    const operation = firstOperation(document);
    const origin = testApp().url;
    const bundle = bundleUrl((await request('GET', '/docs')).text);
    await withPage(async (page, record) => {
      await page.goto(`${origin}/docs`);
      await page.locator('h1', { hasText: document.info.title }).waitFor();
      await page.locator('h2', { hasText: operation.summary }).first().waitFor();
      await page.getByText(operation.path, { exact: true }).first().waitFor();
      // The search runs in Redoc's blob: worker: a result proves the worker is allowed.
      await page.getByPlaceholder('Search...').fill(operation.summary.split(/\s+/)[0]!);
      await page.locator('[data-role="search:results"] [role="menuitem"]', { hasText: operation.summary }).first().waitFor();
      // Redoc loads late parts (the sidebar's logo was one) after it renders: wait until nothing is in flight.
      await page.waitForLoadState('networkidle');
      const headingFont = await page.evaluate(`getComputedStyle(document.querySelector('h1')).fontFamily`);
      const screenshot = await record.screenshot('api-docs');
      console.log(`      screenshot of /docs: ${screenshot}`);
      expect(record.requests, 'the page, its bundle and the document were asked for').to.include.members([`${origin}/docs`, `${origin}${bundle}`, `${origin}/openapi.json`]);
      expect(requestsOutside(record, origin), 'requests to another origin').to.deep.equal([]);
      expect(record.cspViolations, 'CSP violations').to.deep.equal([]);
      expect(record.consoleErrors, 'console errors').to.deep.equal([]);
      expect(headingFont, 'the system font stack of the theme').to.match(/^system-ui\b/);
    });
  });
});
