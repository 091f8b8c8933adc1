// Two browsers on one counter count together. Config: {base, name, shots}.
import { config, run, open, step, until, shot, check, log } from '../../internal/browsertest/lib.mjs';

const { base, name } = config;

await run(async (browser) => {
  const a = await open(browser, `${base}/counters/${name}`, 'A');
  const b = await open(browser, `${base}/counters/${name}`, 'B');
  for (const p of [a, b]) await p.locator('[data-status=live]').waitFor();

  const count = (p) => p.locator('output').textContent();
  const expectBoth = async (want) => {
    for (const [p, n] of [[a, 'A'], [b, 'B']]) {
      await until(`${n} to show ${want}`, async () => (await count(p)) === want)
        .catch(async (e) => { throw new Error(`${e.message}; it shows ${await count(p)}`); });
    }
  };
  await expectBoth('0');

  step('+1 in A');
  await a.getByRole('button', { name: 'Increment' }).click();
  await expectBoth('1');
  step('+10 in B');
  await b.getByRole('button', { name: 'Add ten' }).click();
  await expectBoth('11');
  step('− in A');
  await a.getByRole('button', { name: 'Decrement' }).click();
  await expectBoth('10');

  const res = await fetch(`${base}/api/counters/${name}`);
  check((await res.json()).count === 10, 'GET /api/counters agrees');

  step('reset in B');
  await b.getByRole('button', { name: 'Reset' }).click();
  await expectBoth('0');
  await a.getByRole('button', { name: 'Add ten' }).click();
  await a.getByRole('button', { name: 'Increment' }).click();
  await expectBoth('11');
  await shot(b, 'counter');
  log('done');
});
