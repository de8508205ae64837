import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';

/** Debian's Chromium, installed by scripts/ensure-test-tools.sh; playwright-core downloads no browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * What this machine's Chromium needs headless: no sandbox as root, no GPU, and none of
 * Chromium's own connections (QUIC, background networking, component updates, sync), which
 * the closed network refuses, many at a time and loudly.
 */
const CHROMIUM_ARGS = [
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long a start, a navigation or a wait may take before the test fails instead of hanging. */
const BROWSER_TIMEOUT_MS = 20_000;

/** Name of the binding the page's CSP-violation listener reports through. */
const CSP_BINDING = '__reportCspViolation';

export interface PageRecord {
  /** Every URL the page, its frames and its workers asked for, in order. */
  requests: string[];
  /** Console messages of type error, and uncaught exceptions. */
  consoleErrors: string[];
  /** `securitypolicyviolation` events, as "directive blocked-uri". */
  cspViolations: string[];
  /** The folder this page's screenshots go to (kept after the test, for a person to look at). */
  folder: string;
  /** Saves a screenshot of the viewport (or the whole page) as `<name>.png` in `folder` and returns its path. */
  screenshot(name: string, options?: { fullPage?: boolean }): Promise<string>;
}

/** The requests that left `origin`: anything but the origin itself and inline data: URLs. */
export function requestsOutside(record: PageRecord, origin: string): string[] {
  return record.requests.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
}

function assertChromiumInstalled(): void {
  try {
    fs.accessSync(CHROMIUM_PATH, fs.constants.X_OK);
  } catch {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: run scripts/ensure-test-tools.sh (as root it installs Debian's chromium package), or make test`);
  }
}

/**
 * Runs `fn` with a fresh page of a headless Chromium (new temporary profile each time) and
 * closes the browser afterwards, whatever happens. The record collects what a test asserts
 * on: requests, console errors and CSP violations.
 */
export async function withPage<T>(fn: (page: Page, record: PageRecord) => Promise<T>): Promise<T> {
  assertChromiumInstalled();
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: BROWSER_TIMEOUT_MS });
  try {
    const context = await browser.newContext();
    context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'user-services-browser-'));
    const record: PageRecord = {
      requests: [],
      consoleErrors: [],
      cspViolations: [],
      folder,
      async screenshot(name, options = {}) {
        const file = path.join(folder, `${name}.png`);
        await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
        return file;
      },
    };
    // On the context, so that workers' and subframes' requests are seen too.
    context.on('request', (request) => record.requests.push(request.url()));
    await context.exposeBinding(CSP_BINDING, (_source, violation: string) => {
      record.cspViolations.push(violation);
    });
    // Registered before any of the page's own scripts run, in every frame; a string, as this
    // code is type-checked without the DOM's types.
    await context.addInitScript(
      `document.addEventListener('securitypolicyviolation', (event) => window.${CSP_BINDING}(event.effectiveDirective + ' ' + event.blockedURI));`,
    );
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') record.consoleErrors.push(`${message.text()} (${message.location().url || 'no location'})`);
    });
    page.on('pageerror', (error) => record.consoleErrors.push(`uncaught: ${error.message}`));
    return await fn(page, record);
  } finally {
    await browser.close();
  }
}
