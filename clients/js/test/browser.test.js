// The demo app in headless Chromium (Debian's `chromium`, driven by playwright-core; nothing
// is downloaded): two pages edit the same board through the DOM at once, including reorders
// and removals, and both converge to the server's state; a viewer's edit is undone on its
// page; a board made on the list page opens at its own address, where two pages see each
// other's edits, and its deletion reaches the page showing it. Screenshots go to
// test/output/. A browser that cannot start fails the test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, waitFor, launchBrowser, shownBoard } from './server.js';

const output = new URL('./output/', import.meta.url);
let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  mkdirSync(output, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * Opens `path` in a new page and waits for `ready`; a script that fails, or a file or page
 * the server does not have, fails the test at once (the API's answers are the page's to
 * show).
 */
async function openPage(path, ready) {
  const page = await browser.newPage({ viewport: { width: 640, height: 900 } });
  const errors = [];
  const failed = new Promise((_, reject) => {
    page.on('pageerror', (error) => {
      errors.push(error);
      reject(error);
    });
    page.on('response', (response) => {
      const api = new URL(response.url()).pathname.startsWith('/api/');
      if (response.status() >= 400 && !api) reject(new Error(`${response.url()}: ${response.status()}`));
    });
  });
  failed.catch(() => {});
  await page.goto(`${server.http}${path}`);
  await Promise.race([page.waitForSelector(ready, { timeout: 15000 }), failed]);
  return { page, errors };
}

/** The page of `board` as `token` sees it, once connected. */
function open(token, board = 'welcome') {
  return openPage(`/b/${board}?token=${token}`, '#status[data-state="open"]');
}

/** The devtools of `board` as `token` sees them, once loaded. */
async function devtoolsOf(board, token) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${server.http}/b/${board}/devtools?token=${token}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  return page;
}

async function settled(pages, board = 'welcome') {
  await waitFor(async () => {
    const { version } = await server.state(board);
    for (const page of pages) {
      const status = await page.$eval('#status', (el) => ({ ...el.dataset }));
      if (status.pending !== '0' || Number(status.version) !== version) return false;
      if (!(await page.evaluate(() => window.board.isSettled))) return false;
    }
    return true;
  }, 'the pages to reach the server', 20000);
}

/**
 * Clicks the control `selector` of the todo at `index` (modulo their number), if it is there
 * and enabled: found and clicked in one step in the page, which re-renders the list whenever
 * the other page's changes arrive.
 */
function click(page, index, selector) {
  return page.evaluate(
    ([index, selector]) => {
      const controls = document.querySelectorAll(`#todos li ${selector}`);
      const control = controls[index % Math.max(controls.length, 1)];
      if (control !== undefined && !control.disabled) control.click();
    },
    [index, selector],
  );
}

async function add(page, text) {
  await page.fill('#text', text);
  await page.click('#add button');
}

test('two pages edit one board at once and converge to the server', async () => {
  // The devtools follow a board from the first time an editor opens them.
  const watching = await devtoolsOf('welcome', 'ann');
  assert.match(await watching.textContent('#range'), /versions 0–0$/);
  await watching.close();
  const ann = await open('ann');
  const bob = await open('bob');
  for (let round = 0; round < 12; round++) {
    await Promise.all([
      (async () => {
        await add(ann.page, `ann ${round}`);
        await click(ann.page, round, '[data-action="down"]');
        await click(ann.page, round + 1, 'input[type=checkbox]');
      })(),
      (async () => {
        await add(bob.page, `bob ${round}`);
        await click(bob.page, round + 2, '[data-action="up"]');
        if (round % 3 === 2) await click(bob.page, round, '[data-action="remove"]');
      })(),
    ]);
  }
  await settled([ann.page, bob.page]);
  const { state } = await server.state();
  const annShows = await shownBoard(ann.page);
  const bobShows = await shownBoard(bob.page);
  assert.deepEqual(annShows, state);
  assert.deepEqual(bobShows, state);
  assert.ok(state.todos.some((t) => t.text.startsWith('ann')) && state.todos.some((t) => t.text.startsWith('bob')));
  assert.ok(state.todos.length >= 12, `${state.todos.length} todos`);
  const ids = state.todos.map((t) => t.id);
  assert.equal(new Set(ids).size, ids.length, `no todo twice: ${ids}`);
  await ann.page.screenshot({ path: new URL('ann.png', output).pathname, fullPage: true });
  await bob.page.screenshot({ path: new URL('bob.png', output).pathname, fullPage: true });
  assert.deepEqual([...ann.errors, ...bob.errors], []);
  await ann.page.close();
  await bob.page.close();

  // The devtools followed the board live: every version, each change with its author.
  const { version } = await server.state();
  const devtools = await devtoolsOf('welcome', 'ann');
  assert.match(await devtools.textContent('#range'), new RegExp(`versions 0–${version}$`));
  const newest = await devtools.evaluate(() => window.devtools.reveal('/todos').then((li) => li.textContent));
  assert.match(newest, new RegExp(`\\[${state.todos.length}\\]`));
  assert.match(await devtools.textContent('#timeline'), /session \d+/);
  await devtools.screenshot({ path: new URL('devtools-live.png', output).pathname });
  await devtools.close();
});

test("a viewer's edit is undone on its page, with the reason", async () => {
  const victor = await open('victor');
  const before = await shownBoard(victor.page);
  await victor.page.locator('#todos li input[type=checkbox]').first().click();
  await victor.page.waitForFunction(() => document.getElementById('notice').textContent !== '', null, { timeout: 10000 });
  const notice = await victor.page.textContent('#notice');
  assert.match(notice, /undone: it may not write \/todos\/0\/done/);
  await settled([victor.page]);
  assert.deepEqual(await shownBoard(victor.page), before);
  assert.deepEqual(await shownBoard(victor.page), (await server.state()).state);
  await victor.page.screenshot({ path: new URL('victor.png', output).pathname, fullPage: true });
  await victor.page.close();
});

test('a board made on the list page opens at its own address, where two pages see each other', async () => {
  const list = await openPage('/?token=ann', 'body[data-ready="true"]');
  const listed = () => list.page.$$eval('#boards li', (items) => items.map((li) => li.dataset.name));
  assert.deepEqual(await listed(), ['welcome']);
  const create = async (name) => {
    await list.page.fill('#name', name);
    await list.page.click('#create button');
  };
  // A bad name and a taken one are refused, with the reason.
  await create('my board');
  await list.page.waitForFunction(() => document.getElementById('error').textContent !== '', null, { timeout: 10000 });
  assert.match(await list.page.textContent('#error'), /"my board" is not a board's name: a name is 1 to 200 ASCII letters, digits/);
  await create('welcome');
  await list.page.waitForFunction(() => /exists already/.test(document.getElementById('error').textContent), null, { timeout: 10000 });
  assert.match(await list.page.textContent('#error'), /a board named "welcome" exists already/);
  await create('team-b');
  await list.page.waitForSelector('#boards li[data-name="team-b"]', { timeout: 10000 });
  assert.equal(await list.page.textContent('#error'), '');
  assert.deepEqual(await listed(), ['team-b', 'welcome']);
  await list.page.screenshot({ path: new URL('boards.png', output).pathname, fullPage: true });

  // Opened from its link, at its own address.
  await Promise.all([list.page.waitForURL(/\/b\/team-b\?token=ann$/), list.page.click('#boards li[data-name="team-b"] a')]);
  await list.page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
  const ann = list;
  const bob = await open('bob', 'team-b');
  const before = (await server.state()).state;

  await ann.page.fill('#text', 'from ann');
  await ann.page.click('#add button');
  await bob.page.waitForFunction(() => [...document.querySelectorAll('#todos .text')].some((t) => t.textContent === 'from ann'), null, { timeout: 10000 });
  await bob.page.locator('#todos li', { hasText: 'from ann' }).locator('input[type=checkbox]').click();
  await ann.page.waitForFunction(
    () => [...document.querySelectorAll('#todos li')].some((li) => li.textContent.includes('from ann') && li.querySelector('input').checked),
    null,
    { timeout: 10000 },
  );
  await settled([ann.page, bob.page], 'team-b');
  const { state } = await server.state('team-b');
  assert.deepEqual(await shownBoard(ann.page), state);
  assert.deepEqual(await shownBoard(bob.page), state);
  assert.ok(state.todos.some((t) => t.text === 'from ann' && t.done));
  assert.deepEqual((await server.state()).state, before, 'the other board is its own');
  await bob.page.screenshot({ path: new URL('team-b.png', output).pathname, fullPage: true });

  // Deleted from the list: gone from it, and the page showing it says so.
  await ann.page.goto(`${server.http}/?token=ann`);
  await ann.page.waitForSelector('#boards li[data-name="team-b"]', { timeout: 10000 });
  await ann.page.click('#boards li[data-name="team-b"] button[data-action="delete"]');
  await ann.page.waitForFunction(() => !document.querySelector('#boards li[data-name="team-b"]'), null, { timeout: 10000 });
  await bob.page.waitForSelector('#status[data-state="unsubscribed"]', { timeout: 10000 });
  assert.match(await bob.page.textContent('#status'), /this board is gone: .*deleted/);
  // Its address now says there is no such board.
  await bob.page.reload();
  await bob.page.waitForSelector('#status[data-state="closed"]', { timeout: 15000 });
  assert.match(await bob.page.textContent('#status'), /no document is named "team-b"/);
  // Viewers see the list without the editors' controls.
  const victor = await openPage('/?token=victor', 'body[data-ready="true"]');
  assert.equal(await victor.page.isHidden('#create'), true);
  assert.equal(await victor.page.$$eval('#boards button', (buttons) => buttons.length), 0);
  assert.deepEqual([...ann.errors, ...bob.errors, ...victor.errors], []);
  for (const page of [ann.page, bob.page, victor.page]) await page.close();
});
