// The demo's panel: two pages agree on the shared list's versions whoever
// changes it, and the frame panel shows the frames (change on join, then
// patches with their version and operations) and the transport in use.
// Config: {base, transport, shots}.
import { config, run, open, step, until, shot, check, log } from '../../internal/browsertest/lib.mjs';

const { base, transport } = config;
const url = `${base}/${transport === 'longpoll' ? '?transport=longpoll' : ''}`;

const version = async (page) => (await page.locator('shared-list .version').textContent()).trim();
const items = (page) => page.locator('shared-list li .text').allTextContents();

async function add(page, text) {
  const input = page.locator('shared-list input[name=text]');
  await input.fill(text);
  await input.press('Enter');
}

async function agree(a, b, want, wantVersion) {
  await until(`both pages to show ${JSON.stringify(want)} at ${wantVersion}`, async () => {
    const [ia, ib, va, vb] = [await items(a), await items(b), await version(a), await version(b)];
    return JSON.stringify(ia) === JSON.stringify(want) && JSON.stringify(ib) === JSON.stringify(want) &&
      va === wantVersion && vb === wantVersion;
  }).catch(async (e) => {
    throw new Error(`${e.message}; A: ${await items(a)} ${await version(a)}, B: ${await items(b)} ${await version(b)}`);
  });
}

await run(async (browser) => {
  const a = await open(browser, url, 'A');
  await a.locator('shared-list[status=live]').waitFor();
  const b = await open(browser, url, 'B');
  await b.locator('shared-list[status=live]').waitFor();
  await agree(a, b, [], 'version 0');

  step('A adds, B adds: one version sequence for both');
  await add(a, 'From A');
  await agree(a, b, ['From A'], 'version 1');
  await add(b, 'From B');
  await agree(a, b, ['From A', 'From B'], 'version 2');
  await b.locator('shared-list li', { hasText: 'From A' }).locator('button.remove').click();
  await agree(a, b, ['From B'], 'version 3');

  step('the frame panel');
  const transportBadge = await a.locator('frame-panel .transport').getAttribute('data-transport');
  check(transportBadge === transport, `the panel names the transport: ${transportBadge}, want ${transport}`);
  for (const page of [a, b]) {
    const patch = page.locator('frame-panel li.frame[data-kind=patch][data-topic="board:demo"][data-version="3"]');
    await patch.waitFor();
    const ops = await patch.locator('.ops').textContent();
    check(/remove \/items\/0/.test(ops), `the patch's operations are shown: ${ops}`);
  }
  await a.locator('frame-panel li.frame[data-kind=change][data-topic="todo:default"]').waitFor();
  // The first item is sent whole: the patch would not be smaller.
  await a.locator('frame-panel li.frame[data-topic="board:demo"][data-version="1"]').waitFor();
  await shot(a, `demo-${transport}`);

  step('the link to the contact form');
  check(await a.locator('nav').textContent().then((t) => t.includes('make contact-form')), 'the page names the contact-form example');
  log('done');
});
