// phx-live-state in headless Chromium over a compressed socket, for
// TestCompressedChromium (../compress_test.go).
//
// Usage: node e2e/js/compressed-browser.mjs <page URL> <socket path>
//
// The page exposes window.LiveState (phx-live-state 0.12 on phoenix 1.8). In
// it, one LiveState joins a bigshared:* topic (a shared state carrying a
// 100 KB note), another a counter:* topic with a 100 KB note as join param,
// which then gets three increments. It prints the same report as
// compressed.mjs: {"extensions", "shared", "own", "count", "patches"}.
import { chromium } from 'playwright-core';

const [pageURL, socketPath] = process.argv.slice(2);
if (!pageURL || !socketPath) {
  console.error('usage: node compressed-browser.mjs <page URL> <socket path>');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.SEANCE_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let code = 1;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(pageURL);
  await page.waitForFunction(() => window.LiveState !== undefined);
  const result = await page.evaluate(async (path) => {
    const url = `ws://${location.host}${path}`;
    const sha = async (s) => {
      const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s));
      return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
    };
    const digest = async (s) => ({ len: s.length, sha: await sha(s) });
    let note = '';
    for (let i = 0; note.length < 100000; i++) note += `item-${i}:${(i * 7919) % 10007};`;
    const id = Math.random().toString(36).slice(2);
    const opts = { logger: () => {}, reconnectAfterMs: () => 600000 };
    const firstChange = (ls) => new Promise((resolve) => {
      ls.addEventListener('livestate-change', (e) => resolve(e.detail), { once: true });
    });

    const shared = new window.LiveState({ url, topic: `bigshared:${id}`, params: {}, socketOptions: opts });
    const sharedState = firstChange(shared);
    shared.connect();
    const own = new window.LiveState({ url, topic: `counter:${id}`, params: { start: 0, note }, socketOptions: opts });
    const ownState = firstChange(own);
    let patches = 0;
    own.addEventListener('livestate-patch', () => { patches += 1; });
    const three = new Promise((resolve) => {
      own.addEventListener('livestate-change', (e) => { if (e.detail.state.count === 3) resolve(e.detail.state); });
    });
    own.connect();

    const result = {
      shared: await digest((await sharedState).state.note),
      own: await digest((await ownState).state.note),
    };
    result.extensions = own.socket.conn.extensions;
    for (let i = 0; i < 3; i++) own.pushEvent('increment', {});
    const last = await three;
    result.count = last.count;
    result.patches = patches;
    if (last.note !== note) result.own.len = -1; // the patches broke the note
    shared.disconnect();
    own.disconnect();
    return result;
  }, socketPath);
  console.log(JSON.stringify(result));
  code = 0;
} catch (e) {
  console.error('FAIL:', e?.stack ?? e);
} finally {
  await browser.close();
}
process.exit(code);
