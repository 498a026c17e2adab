// The boards survive their server: in headless Chromium, a page edits a board made through
// the API, the server process is killed (SIGKILL) and started again on the same data
// directory, and the page, reloaded, shows every edit it was told was accepted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, waitFor, launchBrowser, shownBoard } from './server.js';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (server?.data) rmSync(server.data, { recursive: true, force: true });
});

async function opened(page) {
  await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
}

test('edits survive a killed server and a reloaded page', async () => {
  const page = await browser.newPage({ viewport: { width: 640, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  const made = await server.api('POST', '/api/boards', { token: 'ann', body: { name: 'kept' } });
  assert.equal(made.status, 201);
  await page.goto(`${server.http}/b/kept?token=ann`);
  await opened(page);
  for (const text of ['kept 1', 'kept 2', 'kept 3']) {
    await page.fill('#text', text);
    await page.click('#add button');
  }
  await page.evaluate(() => document.querySelector('#todos li input[type=checkbox]')?.click());
  // Accepted: the page is settled at the server's version (what was seen last is told if not:
  // each commit waits for the server's fsync, which a machine busy writing can hold up).
  let seen;
  await waitFor(async () => {
    const { version } = await server.state('kept');
    const status = await page.$eval('#status', (el) => ({ ...el.dataset }));
    const settled = await page.evaluate(() => window.board.isSettled);
    const todos = await page.$$eval('#todos li', (items) => items.length);
    seen = { server: version, page: status, settled, todos };
    return version >= 4 && status.pending === '0' && Number(status.version) === version && settled;
  }, 'the page to be settled', 60000).catch((error) => {
    throw new Error(`${error.message}; last seen: ${JSON.stringify(seen)}`);
  });
  const before = await shownBoard(page);
  const { version, state } = await server.state('kept');
  assert.deepEqual(before, state);
  assert.ok(['kept 1', 'kept 2', 'kept 3'].every((t) => state.todos.some((todo) => todo.text === t)));

  await server.kill(); // SIGKILL: nothing more is written
  const data = server.data;
  server = await startServer(server.port, data);
  const restarted = await server.state('kept');
  const listed = await (await server.api('GET', '/api/boards', { token: 'victor' })).json();
  assert.deepEqual(listed.boards, ['kept', 'welcome']);
  assert.equal(restarted.version, version, 'the version the page was told');
  assert.deepEqual(restarted.state, state);

  await page.reload();
  await opened(page);
  await waitFor(async () => {
    const status = await page.$eval('#status', (el) => ({ ...el.dataset }));
    return Number(status.version) === version;
  }, 'the reloaded page to show the board', 10000);
  assert.deepEqual(await shownBoard(page), state);
  assert.deepEqual(errors, []);
  await page.close();
});
