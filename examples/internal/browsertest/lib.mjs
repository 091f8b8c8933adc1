// Helpers for the examples' browser scripts (run by browsertest.Env.Run):
// headless Chromium through playwright-core from e2e/node_modules.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(new URL('../../../e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

/** The configuration the Go test passed as JSON. */
export const config = JSON.parse(process.argv[2] ?? '{}');

const pageErrors = [];

/** log prints a line the Go test shows with its output. */
export function log(...args) {
  console.log(`${new Date().toISOString().slice(11, 23)}`, ...args);
}

/** run launches Chromium, runs fn(browser), and exits 0, or 1 on failure. */
export async function run(fn) {
  const browser = await chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let code = 0;
  try {
    await fn(browser);
    if (pageErrors.length) throw new Error(`uncaught errors in pages:\n${pageErrors.join('\n')}`);
    log('PASS');
  } catch (e) {
    console.error('FAIL:', e?.stack ?? e);
    code = 1;
  } finally {
    await browser.close();
  }
  process.exit(code);
}

/** open opens url in a new browser context (its own cookies and storage). */
export async function open(browser, url, name) {
  const context = await browser.newContext({ viewport: { width: 560, height: 520 } });
  const page = await context.newPage();
  page.setDefaultTimeout(config.timeoutMs ?? 15000);
  page.on('pageerror', (e) => { pageErrors.push(`[${name}] ${e.stack ?? e}`); });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log(`[${name}] console.${m.type()}: ${m.text()}`);
  });
  await page.goto(url);
  log(`[${name}] opened ${url}`);
  return page;
}

/** step logs the start of a step. */
export function step(text) { log(`step: ${text}`); }

/** until polls fn until it returns a truthy value or the time is up. */
export async function until(what, fn, timeoutMs = config.timeoutMs ?? 15000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** same reports whether two JSON-able values are equal. */
export function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

/** shot saves a screenshot of page under config.shots and logs its path. */
export async function shot(page, name) {
  const path = join(config.shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  log(`screenshot: ${path}`);
  return path;
}

/** check throws when cond is false. */
export function check(cond, message) {
  if (!cond) throw new Error(message);
}
