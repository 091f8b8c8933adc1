// <contact-form> embedded in pages of other origins: from an allowed origin
// a message is validated and sent; from another origin the socket is
// refused. Config: {allowed, denied, api, transport, shots}.
import { config, run, open, step, shot, check, log } from '../../internal/browsertest/lib.mjs';

const { allowed, denied, api, transport } = config;
const query = transport === 'longpoll' ? '?transport=longpoll' : '';

await run(async (browser) => {
  step(`allowed origin ${allowed}`);
  const ok = await open(browser, allowed + query, 'allowed');
  await ok.locator('contact-form[status=ready]').waitFor();
  const form = ok.locator('contact-form');
  await form.locator('input[name=name]').fill('Ada Lovelace');
  await form.locator('input[name=email]').fill('ada@');
  await form.locator('textarea[name=message]').fill('Could the engine compute Bernoulli numbers?');
  await form.locator('button').click();
  const err = form.locator('.error');
  await err.waitFor();
  check(/valid email/.test(await err.textContent()), `the error names the email: ${await err.textContent()}`);
  await shot(ok, `contact-${transport}-error`);

  await form.locator('input[name=email]').fill('ada@example.com');
  await form.locator('button').click();
  await ok.locator('contact-form[status=sent]').waitFor();
  const thanks = await form.locator('.sent').textContent();
  check(thanks.includes('Thanks, Ada Lovelace!'), `thanks shown: ${thanks}`);
  await form.locator('.ref').waitFor();
  await shot(ok, `contact-${transport}-sent`);

  const res = await fetch(api);
  const { contacts } = await res.json();
  check(contacts.some((c) => c.email === 'ada@example.com'), `GET /api/contacts lists Ada: ${JSON.stringify(contacts)}`);

  step(`other origin ${denied}`);
  const no = await open(browser, denied + query, 'denied');
  await no.locator('contact-form[status=unavailable]').waitFor();
  const msg = await no.locator('contact-form .unavailable').textContent();
  check(/cannot be reached/.test(msg), `the refusal is explained: ${msg}`);
  check(await no.locator('contact-form button').isDisabled(), 'Send is disabled');
  await shot(no, `contact-${transport}-refused`);
  log('done');
});
