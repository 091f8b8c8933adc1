// The inspector page, behind Basic auth, updates live when a counter page
// connects. Config: {base, password, shots, mode}: mode "live" (the page's
// phx-live-state module loads: figures arrive over the inspector's socket,
// figures.json is never fetched) or "polling" (the module URL answers 404:
// the page polls figures.json and says so).
import { config, run, open, step, until, shot, check, log } from '../../internal/browsertest/lib.mjs';

const { base, password, mode } = config;
const url = `${base}/seance/inspector/`;

await run(async (browser) => {
  step('refused without credentials');
  const res = await fetch(url);
  check(res.status === 401, `GET ${url} without credentials: ${res.status}, want 401`);

  step(`the operator opens the inspector (${mode})`);
  const ctx = await browser.newContext({ viewport: { width: 900, height: 1100 }, httpCredentials: { username: 'admin', password } });
  const inspector = await ctx.newPage();
  inspector.setDefaultTimeout(config.timeoutMs ?? 15000);
  let polls = 0;
  inspector.on('request', (req) => { if (new URL(req.url()).pathname.endsWith('/figures.json')) polls++; });
  await inspector.goto(url);
  await inspector.locator(`#mode[data-mode=${mode}]`).waitFor();
  await inspector.locator('#at', { hasText: 'at ' }).waitFor();
  // The page re-renders on every update: read a row in one go.
  const cell = (section, key) => inspector.evaluate(([section, key]) => {
    const h = [...document.querySelectorAll('h2')].find((e) => e.textContent === section);
    const th = h && [...h.nextElementSibling.querySelectorAll('th')].find((e) => e.textContent === key);
    return th ? th.nextElementSibling.textContent : '0';
  }, [section, key]);
  const topic = (name, col) => inspector.evaluate(([name, col]) => {
    const td = document.querySelector(`table[data-table=topics] tr[data-topic="${name}"] td[data-col=${col}]`);
    return td ? td.textContent : '';
  }, [name, col]);
  const websockets = () => cell('Connections', 'websocket');
  check(await websockets() === '0', 'no connection before the counter page');

  step('a visitor opens a counter');
  const visitor = await open(browser, `${base}/counters/inspected`, 'visitor');
  await visitor.locator('[data-status=live]').waitFor();
  await until('the inspector to show the connection', async () => (await websockets()) === '1');
  await until('the inspector to show the counter channel', async () => (await cell('Channels', 'counter:*')) === '1');
  await until('the topics table to show the counter topic', async () => (await topic('counter:inspected', 'subscribers')) === '1');
  await until('the topics table to show its events', async () => {
    await visitor.getByRole('button', { name: 'Increment' }).click();
    return Number(await topic('counter:inspected', 'events')) > 0;
  });
  await shot(inspector, `inspector-${mode}`);

  step('the visitor leaves');
  await visitor.context().close();
  await until('the inspector to show no connection', async () => (await websockets()) === '0');
  await until('the topics table to drop the topic', async () => (await topic('counter:inspected', 'subscribers')) === '');
  if (mode === 'live') {
    check(polls === 0, `figures.json fetched ${polls} times in live mode, want none`);
  } else {
    check(polls > 1, `figures.json fetched ${polls} times in polling mode, want it polled`);
    check((await inspector.locator('#mode').textContent()).includes('did not load'), 'the page says why it polls');
  }
  log('done');
});
