// Offline across a reload, in headless Chromium, on the plain page and on the React page:
// a page of the demo board (which keeps its board in IndexedDB) edits online, the server is killed (SIGKILL), the page edits offline,
// is reloaded while the server is still down (its files come from what the page loaded
// before, as a service worker would give them) and shows the offline edits at once from
// IndexedDB, edits once more, and the server starts again on its data directory: the page
// resumes its session, every edit lands once, and the board is the one a second page reaches
// by the same edits made online. And one tab at a time keeps a board: a second page of it
// (the plain one or the React one) does not, until the first is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, waitFor, launchBrowser, shownBoard } from './server.js';

let server;
let browser;

before(async () => {
  server = await startServer();
  // A page the test serves (not the network) is of no address space Chromium knows, and
  // its sockets to the loopback server would be refused by the local network access checks.
  browser = await launchBrowser(['--disable-features=LocalNetworkAccessChecks']);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (server?.data) rmSync(server.data, { recursive: true, force: true });
});

/**
 * A browser context whose pages' files (not the API, not the WebSocket) come from the server
 * while it answers, and from what they were before when it does not.
 */
async function cachingContext() {
  const context = await browser.newContext({ viewport: { width: 640, height: 900 } });
  const cache = new Map();
  await context.route('**/*', async (route) => {
    const request = route.request();
    const url = request.url();
    if (request.method() !== 'GET' || new URL(url).pathname.startsWith('/api/')) return route.continue();
    let response;
    try {
      response = await route.fetch();
    } catch {
      const kept = cache.get(url);
      return kept === undefined ? route.abort('internetdisconnected') : route.fulfill(kept);
    }
    const kept = { status: response.status(), headers: response.headers(), body: await response.body() };
    if (response.ok()) cache.set(url, kept);
    return route.fulfill(kept);
  });
  return context;
}

/** The two front ends of a board: their paths under `/b/<name>`. */
const pages = { plain: '', react: '/react' };

/** A page of `board` for ann (the plain one by default), open; script errors are collected. */
async function openBoard(context, board, kind = 'plain') {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${server.http}/b/${board}${pages[kind]}?token=ann`);
  await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
  return { page, errors };
}

/** Waits until the page has every edit answered at the server's version of `board`. */
async function settled(page, board) {
  await waitFor(async () => {
    const { version } = await server.state(board);
    const status = await page.$eval('#status', (el) => ({ ...el.dataset }));
    return status.state === 'open' && status.pending === '0' && Number(status.version) === version
      && (await page.evaluate(() => window.board.isSettled));
  }, `the page of ${board} to reach the server`, 30000);
}

async function add(page, text) {
  await page.fill('#text', text);
  await page.click('#add button');
}

/** The edits both pages make, in order, each a step on the page (the React page has no `down`). */
const steps = {
  one: (page) => add(page, 'one'),
  two: (page) => add(page, 'two'),
  three: (page) => add(page, 'three'),
  check: (page) => page.locator('#todos li input[type=checkbox]').first().click(),
  down: (page) => page.locator('#todos li [data-action="down"]').first().click(),
  four: (page) => add(page, 'four'),
  five: (page) => add(page, 'five'),
};

/** The board as shown, without the todos' ids (made on each page). */
async function shownWithoutIds(page) {
  const { title, todos } = await shownBoard(page);
  return { title, todos: todos.map(({ text, done }) => ({ text, done })) };
}

for (const kind of Object.keys(pages)) {
  test(`edits made offline on the ${kind} page survive a reload and land once when the server is back`, async () => {
    await offlineAcrossReload(kind);
  });
}

/** The test, on one kind of page. */
async function offlineAcrossReload(kind) {
  const [offlineBoard, onlineBoard] = [`offline-${kind}`, `online-${kind}`];
  for (const name of [offlineBoard, onlineBoard]) {
    assert.equal((await server.api('POST', '/api/boards', { token: 'ann', body: { name } })).status, 201);
  }
  const made = Object.keys(steps).filter((step) => kind === 'plain' || step !== 'down');
  const offlineSteps = made.slice(2, -1);
  const context = await cachingContext();
  const { page, errors } = await openBoard(context, offlineBoard, kind);
  assert.equal(await page.getAttribute('#status', 'data-restored'), 'false');
  await steps.one(page);
  await steps.two(page);
  await settled(page, offlineBoard);

  await server.kill();
  await page.waitForSelector('#status[data-state="closed"]', { timeout: 10000 });
  for (const step of offlineSteps) await steps[step](page);
  await page.waitForSelector(`#status[data-pending="${offlineSteps.length}"]`, { timeout: 10000 });
  const offline = await shownBoard(page);
  assert.ok(['one', 'two', 'three', 'four'].every((t) => offline.todos.some((todo) => todo.text === t)));
  await page.evaluate(() => window.board.saved());

  // Reloaded while the server is down: the board comes from IndexedDB, at once.
  await page.reload();
  await page.waitForSelector('#status[data-restored="true"]', { timeout: 15000 });
  assert.deepEqual(await shownBoard(page), offline, 'the offline edits, shown from IndexedDB');
  assert.equal(await page.getAttribute('#status', 'data-pending'), String(offlineSteps.length));
  assert.notEqual(await page.getAttribute('#status', 'data-state'), 'open');
  const waiting = await page.evaluate(() => {
    window.outcomes = [];
    window.board.on('accepted', (e) => window.outcomes.push([e.id, 'accepted']));
    window.board.on('dropped', (e) => window.outcomes.push([e.id, e.reason.kind]));
    const { pending, inFlight } = window.board.follower;
    const ids = [];
    for (const { first, id } of [...(inFlight && !inFlight.applied ? [inFlight] : []), ...pending]) {
      for (let n = first; n <= id; n++) ids.push(n);
    }
    return ids;
  });
  assert.equal(waiting.length, offlineSteps.length, `the edits waiting: ${waiting}`);
  await steps.five(page);
  const five = await page.evaluate(() => window.board.follower.nextId - 1);

  server = await startServer(server.port, server.data);
  await settled(page, offlineBoard);
  const outcomes = await page.evaluate(() => window.outcomes);
  assert.deepEqual(
    outcomes.sort((a, b) => a[0] - b[0]),
    [...waiting, five].map((id) => [id, 'accepted']),
    'each edit accepted, once',
  );
  const { state } = await server.state(offlineBoard);
  assert.deepEqual(await shownBoard(page), state);
  for (const text of ['one', 'two', 'three', 'four', 'five']) {
    assert.equal(state.todos.filter((t) => t.text === text).length, 1, `${text} once`);
  }

  // The same edits, made online on a page that never went offline, give the same board.
  const reference = await openBoard(await browser.newContext({ viewport: { width: 640, height: 900 } }), onlineBoard, kind);
  for (const step of made) {
    await steps[step](reference.page);
    await settled(reference.page, onlineBoard);
  }
  assert.deepEqual(await shownWithoutIds(page), await shownWithoutIds(reference.page));
  assert.deepEqual(await shownWithoutIds(reference.page), {
    title: state.title,
    todos: state.todos.map(({ text, done }) => ({ text, done })),
  });
  assert.deepEqual([...errors, ...reference.errors], []);
  await context.close();
}

test('one tab at a time keeps a board, the plain page or the React page', async () => {
  assert.equal((await server.api('POST', '/api/boards', { token: 'ann', body: { name: 'tabs' } })).status, 201);
  const context = await browser.newContext({ viewport: { width: 640, height: 900 } });
  const kept = async (page) => (await page.textContent('#status')).includes('kept in this browser');
  const first = await openBoard(context, 'tabs', 'plain');
  assert.equal(await kept(first.page), true, 'the first page keeps the board');
  // The second waits for the lock (three seconds), then goes on without keeping it.
  const second = await openBoard(context, 'tabs', 'react');
  assert.equal(await kept(second.page), false, 'a second page of the board does not');
  await add(second.page, 'from the second page');
  await settled(second.page, 'tabs');
  await first.page.close();
  await second.page.reload();
  await second.page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
  assert.equal(await kept(second.page), true, 'once the first page is gone, the reloaded one keeps it');
  assert.deepEqual([...first.errors, ...second.errors], []);
  await context.close();
});
