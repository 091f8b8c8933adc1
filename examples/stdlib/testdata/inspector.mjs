// The inspector page, behind Basic auth, updates live when a counter page
// connects. Config: {base, password, shots}.
import { config, run, open, step, until, shot, check, log } from '../../internal/browsertest/lib.mjs';

const { base, password } = config;
const url = `${base}/seance/inspector/`;

await run(async (browser) => {
  step('refused without credentials');
  const res = await fetch(url);
  check(res.status === 401, `GET ${url} without credentials: ${res.status}, want 401`);

  step('the operator opens the inspector');
  const ctx = await browser.newContext({ viewport: { width: 560, height: 900 }, httpCredentials: { username: 'admin', password } });
  const inspector = await ctx.newPage();
  inspector.setDefaultTimeout(config.timeoutMs ?? 15000);
  await inspector.goto(url);
  await inspector.locator('#at', { hasText: 'at ' }).waitFor();
  // The page re-renders every second: read a row in one go.
  const cell = (section, key) => inspector.evaluate(([section, key]) => {
    const h = [...document.querySelectorAll('h2')].find((e) => e.textContent === section);
    const th = h && [...h.nextElementSibling.querySelectorAll('th')].find((e) => e.textContent === key);
    return th ? th.nextElementSibling.textContent : '0';
  }, [section, key]);
  const websockets = () => cell('Connections', 'websocket');
  check(await websockets() === '0', 'no connection before the counter page');

  step('a visitor opens a counter');
  const visitor = await open(browser, `${base}/counters/inspected`, 'visitor');
  await visitor.locator('[data-status=live]').waitFor();
  await until('the inspector to show the connection', async () => (await websockets()) === '1');
  await until('the inspector to show the counter channel', async () => (await cell('Channels', 'counter:*')) === '1');
  await shot(inspector, 'inspector');

  step('the visitor leaves');
  await visitor.context().close();
  await until('the inspector to show no connection', async () => (await websockets()) === '0');
  log('done');
});
