// Two browsers on one todo list: every change made in one, or over REST,
// shows up in the other; reloads keep the list; a server restart under the
// pages is survived. Config: {base, list, transport, control, shots}.
import { config, run, open, step, until, same, shot, check, log } from '../../internal/browsertest/lib.mjs';

const { base, list, transport, control } = config;
const url = `${base}/lists/${list}${transport === 'longpoll' ? '?transport=longpoll' : ''}`;

const titles = (page) => page.locator('todo-list li .title').allTextContents();
const doneTitles = (page) => page.locator('todo-list li.done .title').allTextContents();

async function expectTitles(page, want, name) {
  await until(`${name} to show ${JSON.stringify(want)}`, async () => same(await titles(page), want))
    .catch(async (e) => { throw new Error(`${e.message}; it shows ${JSON.stringify(await titles(page))}`); });
}

async function add(page, title) {
  const input = page.locator('todo-list form input[name=title]');
  await input.fill(title);
  await input.press('Enter');
}

async function live(page) {
  await page.locator('todo-list[status=live]').waitFor();
}

await run(async (browser) => {
  const a = await open(browser, url, 'A');
  const b = await open(browser, url, 'B');
  await live(a);
  await live(b);
  await expectTitles(a, [], 'A');

  step('both pages are listed as viewers of the list (presence)');
  await until('A to show one viewer with two tabs', async () => same(
    await a.locator('todo-viewers .viewer').allTextContents(), ['guest ×2']));

  step('add in A shows in B');
  await add(a, 'Buy milk');
  await add(a, 'Walk the dog');
  await expectTitles(b, ['Buy milk', 'Walk the dog'], 'B');
  await expectTitles(a, ['Buy milk', 'Walk the dog'], 'A');

  step('toggle in A shows in B');
  await a.locator('todo-list li', { hasText: 'Buy milk' }).locator('input[type=checkbox]').check();
  await until('B to show Buy milk done', async () => same(await doneTitles(b), ['Buy milk']));
  check((await b.locator('todo-list .count').textContent()).trim() === '1 left', 'B counts 1 left');

  step('a bad title shows an error in A only, nothing changes');
  await add(a, 'x'.repeat(201));
  const err = a.locator('todo-list .error');
  await err.waitFor();
  const text = await err.textContent();
  check(/too long/.test(text), `A's error says what is wrong: ${text}`);
  await add(a, '   ');
  await until('A to say a title is needed', async () => /needs a title/.test(await err.textContent()));
  await shot(a, `todo-${transport}-error`);

  step('delete in B shows in A');
  await b.locator('todo-list li', { hasText: 'Walk the dog' }).locator('button.delete').click();
  await expectTitles(a, ['Buy milk'], 'A');
  check((await a.locator('todo-list .error').count()) === 1, 'the error stays in A until its next action');

  step('clear done in A shows in B');
  await add(b, 'Call Ada');
  await expectTitles(a, ['Buy milk', 'Call Ada'], 'A');
  await a.locator('todo-list button.clear').click();
  await expectTitles(b, ['Call Ada'], 'B');
  await expectTitles(a, ['Call Ada'], 'A');

  step('REST POST shows in both pages without reload');
  const res = await fetch(`${base}/api/lists/${list}/todos`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'From REST' }),
  });
  check(res.status === 201, `POST answered ${res.status}`);
  await expectTitles(a, ['Call Ada', 'From REST'], 'A');
  await expectTitles(b, ['Call Ada', 'From REST'], 'B');

  step('reload keeps the list');
  await b.reload();
  await live(b);
  await expectTitles(b, ['Call Ada', 'From REST'], 'B');

  step('server restarted under the pages: they reconnect and show the current state');
  const r = await fetch(`${control}/restart`, { method: 'POST' });
  check(r.ok, `restart answered ${r.status}: ${await r.text()}`);
  await expectTitles(a, ['Call Ada', 'From REST', 'Added while restarting'], 'A');
  await expectTitles(b, ['Call Ada', 'From REST', 'Added while restarting'], 'B');
  await live(a);
  await add(b, 'After the restart');
  await expectTitles(a, ['Call Ada', 'From REST', 'Added while restarting', 'After the restart'], 'A');
  await a.locator('todo-list li', { hasText: 'From REST' }).locator('input[type=checkbox]').check();
  await until('B to show From REST done', async () => same(await doneTitles(b), ['From REST']));
  await a.locator('todo-list form input[name=title]').fill('');
  await shot(a, `todo-${transport}`);
  log('done');
});
