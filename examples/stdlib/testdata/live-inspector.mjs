// The live inspector page (phx-live-state on the "inspector" LiveState
// channel) updates as a visitor comes and goes. Config: {base, password,
// shots, transport}.
import { config, run, open, step, until, shot, check, log } from '../../internal/browsertest/lib.mjs';

const { base, password, transport } = config;
const url = `${base}/seance/live-inspector${transport ? `?transport=${transport}` : ''}`;

await run(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 560, height: 640 }, httpCredentials: { username: 'admin', password } });
  const inspector = await ctx.newPage();
  inspector.setDefaultTimeout(config.timeoutMs ?? 15000);
  inspector.on('pageerror', (e) => log(`[inspector] ${e.stack ?? e}`));
  await inspector.goto(url);
  await inspector.locator('[data-inspector][data-status=live]').waitFor();
  const value = (table, key) => inspector.evaluate(([table, key]) => {
    const tr = document.querySelector(`table[data-table=${table}] tr[data-key="${key}"]`);
    return tr ? tr.lastChild.textContent : '0';
  }, [table, key]);
  // The inspector's own connection is on its own endpoint: not counted.
  check(await value('connections', 'websocket') === '0', 'no visitor yet');

  step('a visitor opens a counter');
  const visitor = await open(browser, `${base}/counters/live`, 'visitor');
  await visitor.locator('[data-status=live]').waitFor();
  await until('the connection to show', async () => (await value('connections', 'websocket')) === '1');
  await until('the channel to show', async () => (await value('channels', 'counter:*')) === '1');
  await shot(inspector, `live-inspector${transport ? '-' + transport : ''}`);

  step('the visitor leaves');
  await visitor.context().close();
  await until('the connection to go', async () => (await value('connections', 'websocket')) === '0');
  log('done');
});
