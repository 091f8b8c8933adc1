// The Quickstart's page in Chromium: it joins, counts and resets.
// Config: {base, shots}.
import { config, run, open, step, check, shot, log } from '../../internal/browsertest/lib.mjs';

await run(async (browser) => {
  const page = await open(browser, config.base + '/', 'quickstart');
  step('joined');
  await page.locator('#status', { hasText: 'connected, version 0' }).waitFor();
  check((await page.locator('#count').textContent()) === '0', 'starts at 0');
  step('increment twice');
  await page.locator('#inc').click();
  await page.locator('#status', { hasText: 'version 1' }).waitFor();
  await page.locator('#inc').click();
  await page.locator('#status', { hasText: 'version 2' }).waitFor();
  check((await page.locator('#count').textContent()) === '2', 'counts to 2');
  step('reset');
  await page.locator('#reset').click();
  await page.locator('#status', { hasText: 'version 3' }).waitFor();
  check((await page.locator('#count').textContent()) === '0', 'back to 0');
  await shot(page, 'quickstart');
  log('done');
});
