// The demo page in headless Chromium (Debian's `chromium`, driven by playwright-core; nothing
// is downloaded): two pages edit the same board through the DOM at once, including reorders
// and removals, and both converge to the server's state; a viewer's edit is undone on its
// page. Screenshots go to test/output/. A browser that cannot start fails the test.
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

async function open(token) {
  const page = await browser.newPage({ viewport: { width: 640, height: 900 } });
  const errors = [];
  // A script that fails or a file the server does not have fails the test at once.
  const failed = new Promise((_, reject) => {
    page.on('pageerror', (error) => {
      errors.push(error);
      reject(error);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) reject(new Error(`${response.url()}: ${response.status()}`));
    });
  });
  failed.catch(() => {});
  await page.goto(`${server.http}/?token=${token}`);
  await Promise.race([page.waitForSelector('#status[data-state="open"]', { timeout: 15000 }), failed]);
  return { page, errors };
}

async function settled(...pages) {
  await waitFor(async () => {
    const { version } = await server.state();
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
  await settled(ann.page, bob.page);
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
  const devtools = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await devtools.goto(`${server.http}/devtools?token=ann`);
  await devtools.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
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
  await settled(victor.page);
  assert.deepEqual(await shownBoard(victor.page), before);
  assert.deepEqual(await shownBoard(victor.page), (await server.state()).state);
  await victor.page.screenshot({ path: new URL('victor.png', output).pathname, fullPage: true });
  await victor.page.close();
});
