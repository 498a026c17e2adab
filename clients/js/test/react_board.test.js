// The React board (`/b/<name>/react`, clients/js/demo) in headless Chromium: each todo is a
// component that selects its todo with `useDocument`, and re-renders only when that todo
// changed. Bob, a client in Node, ticks and renames other todos, renames the board, inserts
// todos before todo A and removes them (A moves in the list): every change is shown, and A's
// component never renders again, nor the list on a tick or a rename. Then Bob edits A: it
// renders again, once. The page edits through: a tick, an added todo, a renamed todo and a new
// title there reach Bob. Presence shows both ways between the React page and the plain one,
// without rendering a todo again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect } from '../index.js';
import { waitFor, shownBoard, openBoardPage, serverAndBrowser } from './server.js';

const env = serverAndBrowser();

/**
 * The React page of board `board` for `user`, in a context of its own, open on the board; its
 * script errors and console errors are collected in `errors`.
 */
async function openReactPage(user, board) {
  const context = await env.browser.newContext({ viewport: { width: 640, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  // React's warnings and errors too (the browser's missing favicon aside).
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) {
      errors.push(new Error(`${message.text()} (${message.location().url})`));
    }
  });
  await page.goto(`${env.server.http}/b/${board}/react?token=${user}`);
  await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
  return { page, errors, context };
}

/** Waits until `page` shows `state` (the title, and each todo's id, text and tick). */
async function shows(page, state, what) {
  const todos = state.todos.map(({ id, text, done }) => ({ id, text, done }));
  const expected = JSON.stringify({ title: state.title, todos });
  let last;
  try {
    await waitFor(async () => {
      last = JSON.stringify(await shownBoard(page));
      return last === expected;
    }, what, 10000);
  } catch (error) {
    assert.equal(last, expected, `${error.message}: the page shows otherwise`);
  }
}

/** How many times the page rendered todo `id`'s component, and the list. */
const renders = (page, id) => page.evaluate((id) => ({ todo: window.__renders[id] ?? 0, list: window.__listRenders }), id);

/** Bob's edit of the todo `id`, wherever it is. */
const editTodo = (store, id, change) => store.update((d) => change(d.todos.find((t) => t.id === id)));

test('a todo re-renders only when it changes, and the page shows every change', async () => {
  const bob = await connect(env.server.ws, { token: 'bob', WebSocket });
  try {
    bob.update((d) => {
      d.todos.push({ id: 'b', text: 'B', done: false }, { id: 'a', text: 'A', done: false }, { id: 'c', text: 'C', done: false });
    });
    await bob.settled(10000);
    const { page, errors, context } = await openReactPage('ann', 'welcome');
    await shows(page, bob.getState(), 'the board as Bob left it');
    const first = await renders(page, 'a');
    assert.equal(first.todo, 1, 'todo A rendered once');

    // Others' ticks and renames, and the title: each shown, neither A nor the list drawn again.
    for (let i = 0; i < 15; i += 1) {
      editTodo(bob, 'b', (t) => { t.done = !t.done; });
      editTodo(bob, 'c', (t) => { t.text = `C, take ${i}`; });
      if (i % 5 === 0) bob.update((d) => { d.title = `Board, take ${i}`; });
      await shows(page, bob.getState(), `Bob's edits, round ${i}`);
    }
    assert.deepEqual(await renders(page, 'a'), first, 'ticks and renames of other todos render neither A nor the list');

    // Todos inserted before A, some removed again, one ticked: A moves down and up the list.
    for (let i = 0; i < 8; i += 1) {
      bob.update((d) => { d.todos.unshift({ id: `x${i}`, text: `X ${i}`, done: false }); });
      await shows(page, bob.getState(), `todo x${i} inserted first`);
    }
    editTodo(bob, 'x3', (t) => { t.done = true; });
    for (const id of ['x0', 'x2', 'x5', 'x6']) {
      bob.update((d) => { d.todos.splice(d.todos.findIndex((t) => t.id === id), 1); });
      await shows(page, bob.getState(), `todo ${id} removed`);
    }
    const moved = await renders(page, 'a');
    assert.equal(moved.todo, first.todo, 'todos inserted and removed before A do not render it');
    assert.ok(moved.list > first.list, 'the list renders when todos come and go');

    // Bob renames A, then ticks it: it renders once for each.
    editTodo(bob, 'a', (t) => { t.text = 'A, renamed by Bob'; });
    await shows(page, bob.getState(), 'A renamed');
    const renamed = await renders(page, 'a');
    assert.equal(renamed.todo, first.todo + 1, 'A renders once when it is renamed');
    assert.equal(renamed.list, moved.list, 'renaming A does not render the list');
    editTodo(bob, 'a', (t) => { t.done = true; });
    await shows(page, bob.getState(), 'A ticked');
    assert.equal((await renders(page, 'a')).todo, first.todo + 2, 'A renders once when it is ticked');

    // The page edits through: a click ticks C for Bob; a todo added, a text and a title edited.
    const item = (id) => page.locator(`#todos li[data-id="${id}"]`);
    await item('c').locator('input[type=checkbox]').click();
    await waitFor(() => bob.getState().todos.find((t) => t.id === 'c').done === true, 'the tick to reach Bob');
    await page.fill('#text', 'Written in React');
    await page.click('#add button');
    await waitFor(() => bob.getState().todos.some((t) => t.text === 'Written in React'), 'the new todo to reach Bob');
    await item('b').locator('button[data-action="edit"]').click();
    await item('b').locator('input.edit').fill('B, renamed in React');
    await item('b').locator('input.edit').press('Enter');
    await waitFor(() => bob.getState().todos.find((t) => t.id === 'b').text === 'B, renamed in React', 'the rename to reach Bob');
    await page.click('#rename');
    await page.fill('#title-text', 'A React board');
    await page.press('#title-text', 'Enter');
    await waitFor(() => bob.getState().title === 'A React board', 'the title to reach Bob');
    await item('x1').locator('button[data-action="remove"]').click();
    await waitFor(() => !bob.getState().todos.some((t) => t.id === 'x1'), 'the removal to reach Bob');
    await shows(page, bob.getState(), 'the board after the page edited it');
    assert.equal((await renders(page, 'a')).todo, first.todo + 2, "the page's edits of other todos do not render A");

    // Undo takes back the page's last edit (the removal) for Bob too.
    await page.click('#undo');
    await waitFor(() => bob.getState().todos.some((t) => t.id === 'x1'), 'the undone removal to reach Bob');
    await shows(page, bob.getState(), 'the board after the undo');

    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    bob.close();
  }
});

test('presence shows both ways between the React page and the plain page, and renders no todo', async () => {
  assert.equal((await env.server.api('POST', '/api/boards', { token: 'ann', body: { name: 'meeting' } })).status, 201);
  const ann = await openReactPage('ann', 'meeting');
  const bob = await openBoardPage(env.browser, env.server, 'bob', 'meeting');
  const online = () => ann.page.$$eval('#online .who:not(.me)', (els) => els.map((el) => el.dataset.user));
  const at = (page, id) => page.$$eval(`#todos li[data-id="${id}"] .at`, (els) => els.map((el) => el.dataset.user));
  await waitFor(async () => JSON.stringify(await online()) === '["bob"]', "bob on ann's React page");
  const [first, second] = await bob.page.$$eval('#todos li', (lis) => lis.map((li) => li.dataset.id));
  const before = await ann.page.evaluate(() => ({ ...window.__renders }));

  await bob.page.hover(`#todos li[data-id="${second}"] .text`);
  await waitFor(async () => JSON.stringify(await at(ann.page, second)) === '["bob"]', "bob at the second todo on ann's page");
  await bob.page.hover(`#todos li[data-id="${first}"] .text`);
  await waitFor(async () => JSON.stringify(await at(ann.page, first)) === '["bob"]', "bob at the first todo on ann's page");
  assert.deepEqual(await at(ann.page, second), []);
  await ann.page.hover(`#todos li[data-id="${second}"] .text`);
  await waitFor(async () => JSON.stringify(await at(bob.page, second)) === '["ann"]', "ann at the second todo on bob's page");
  assert.deepEqual(await ann.page.evaluate(() => ({ ...window.__renders })), before, 'presence renders no todo');

  await bob.context.close();
  await waitFor(async () => (await online()).length === 0, "bob gone from ann's React page");
  assert.deepEqual([...ann.errors, ...bob.errors], []);
  await ann.context.close();
});

test('the plain page and the React page link to each other', async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${env.server.http}/b/welcome?token=bob`);
    await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
    await page.click('#react');
    await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
    assert.equal(new URL(page.url()).pathname, '/b/welcome/react');
    assert.match(await page.textContent('#status'), /^bob \(editor\)/);
    await page.click('#classic');
    await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
    assert.equal(new URL(page.url()).pathname, '/b/welcome');
  } finally {
    await context.close();
  }
});

test('a board that is not there is said so on the React page', async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${env.server.http}/b/nowhere/react?token=ann`);
    await page.waitForSelector('#status[data-state="closed"]', { timeout: 15000 });
    assert.match(await page.textContent('#status'), /nowhere/);
  } finally {
    await context.close();
  }
});
