// Drives the browser leg of the conformance suite: launches headless
// Chromium (Debian's /usr/bin/chromium) through playwright-core with a fresh
// profile, opens the runner page, waits for window.__results, prints one line
// per scenario, saves a screenshot, and exits non-zero on any failure.
//
//   node browser/run.mjs <page URL>
//
// Environment: SEANCE_CHROMIUM (default /usr/bin/chromium),
// SEANCE_BROWSER_TIMEOUT_MS (default 90000) bounds the wait for the results,
// SEANCE_SCREENSHOTS names a directory that keeps the screenshot (by default
// it goes to a temporary directory removed at the end).
// TestBrowserConformance (../browser_test.go) runs it.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const pageURL = process.argv[2];
if (!pageURL) {
  console.error('usage: node browser/run.mjs <page URL>');
  process.exit(2);
}
const executablePath = process.env.SEANCE_CHROMIUM || '/usr/bin/chromium';
const timeoutMs = Number(process.env.SEANCE_BROWSER_TIMEOUT_MS || 90000);

/** report prints the per-scenario table and returns the number of failures. */
function report(results) {
  if (results.fatal) {
    console.log(`FATAL  the runner failed: ${results.fatal}`);
    return 1;
  }
  const width = Math.max(...results.rows.map((r) => r.client.length));
  for (const r of results.rows) {
    const status = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' }[r.status];
    const time = r.status === 'skip' ? '' : ` (${r.ms} ms)`;
    console.log(`${status}  ${results.transport}  ${r.client.padEnd(width)}  ${r.scenario}${time}`);
    if (r.error) console.log(`        ${r.status === 'skip' ? 'skipped: ' : ''}${r.error}`);
  }
  const { pass, fail, skip } = results.counts;
  console.log(`${results.transport}: ${pass} passed, ${fail} failed, ${skip} skipped`);
  return pass === 0 ? 1 : fail;
}

const profile = await mkdtemp(join(tmpdir(), 'seance-chromium-profile-'));
const keepShots = process.env.SEANCE_SCREENSHOTS;
if (keepShots) await mkdir(keepShots, { recursive: true });
const shots = keepShots || await mkdtemp(join(tmpdir(), 'seance-browser-'));
let context;
let failures = 1;
try {
  context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: FLAGS });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[console.${m.type()}] ${m.text()}`);
  });
  console.log(`chromium ${context.browser()?.version() ?? ''} opening ${pageURL}`);
  await page.goto(pageURL);
  let results;
  try {
    await page.waitForFunction(() => window.__results?.done === true, null, { timeout: timeoutMs, polling: 100 });
    results = await page.evaluate(() => window.__results);
  } catch (e) {
    console.log(`no results within ${timeoutMs} ms: ${e.message.split('\n')[0]}`);
    console.log(`page says: ${await page.locator('#summary').textContent().catch(() => '?')}`);
  }
  const shot = join(shots, `results-${new URL(pageURL).searchParams.get('transport') ?? 'page'}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  if (results) failures = report(results);
} catch (e) {
  console.log(`browser run failed: ${e.stack ?? e}`);
} finally {
  await context?.close();
  await rm(profile, { recursive: true, force: true });
  if (!keepShots) await rm(shots, { recursive: true, force: true });
}
process.exit(failures === 0 ? 0 : 1);
