// <contact-form> in a plain page of another origin: invalid input shows the
// store's errors beside the fields; a valid contact is saved and shows up
// on the server's contacts page; the same email again is refused by the
// database's unique index. Config: {page, server, db, shots}.
import { config, run, open, step, shot, check, log } from '../../internal/browsertest/lib.mjs';

const { page: pageURL, server, db } = config;

await run(async (browser) => {
  const page = await open(browser, pageURL, 'other site');
  const form = page.locator('contact-form');
  await page.locator('contact-form[status=ready]').waitFor();

  const fill = async (name, email, phone) => {
    await form.locator('input[name=name]').fill(name);
    await form.locator('input[name=email]').fill(email);
    await form.locator('input[name=phone]').fill(phone);
    await form.locator('button[type=submit]').click();
  };

  step('invalid email and phone');
  await fill('Ada Lovelace', 'ada@', '12');
  await page.locator('contact-form[status=invalid]').waitFor();
  const emailErr = await form.locator('.error[data-for=email]').textContent();
  const phoneErr = await form.locator('.error[data-for=phone]').textContent();
  check(/valid email/.test(emailErr), `the email error is shown: ${emailErr}`);
  check(/digits/.test(phoneErr), `the phone error is shown: ${phoneErr}`);
  check(await form.locator('.error[data-for=name]').isHidden(), 'no error on the name');
  await shot(page, `contact-form-${db}-invalid`);

  step('valid contact');
  await fill('Ada Lovelace', 'ada@example.com', '+44 20 7946 0000');
  await page.locator('contact-form[status=saved]').waitFor();
  const thanks = await form.locator('.saved').textContent();
  check(thanks.includes('Ada Lovelace') && /#\d+/.test(thanks), `saved with its id: ${thanks}`);
  await shot(page, `contact-form-${db}-saved`);

  step('visible on the server');
  const admin = await open(browser, server, 'contacts page');
  const row = admin.locator('#contacts tbody tr', { hasText: 'ada@example.com' });
  await row.waitFor();
  check((await row.textContent()).includes('+44 20 7946 0000'), 'the row shows the phone');

  step('the same email again');
  await form.locator('button.again').click();
  await page.locator('contact-form[status=ready]').waitFor();
  await fill('Ada L.', 'ADA@example.com', '555 0100 200');
  await page.locator('contact-form[status=invalid]').waitFor();
  const dup = await form.locator('.error[data-for=email]').textContent();
  check(/already saved/.test(dup), `the database's refusal is shown: ${dup}`);
  await shot(page, `contact-form-${db}-duplicate`);
  log('done');
});
