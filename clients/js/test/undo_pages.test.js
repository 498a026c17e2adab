// Undo that respects others, in headless Chromium on the demo board: two pages, Ann's and
// Bob's. Ann ticks a todo; Bob then inserts todos before it, removes one before it and ticks
// another; Ann undoes (with the button, then Ctrl+Shift+Z to redo, then Ctrl+Z): her todo is
// the one unticked, wherever it now is, and every edit of Bob's stays. Then Bob removes the
// todo Ann ticked last: her undo is skipped, and the page says it was Bob.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, shownBoard, openBoardPage, serverAndBrowser } from './server.js';

const env = serverAndBrowser();

const openBoard = (user, board) => openBoardPage(env.browser, env.server, user, board);

/** Waits until every page has its edits answered and shows the server's board. */
async function settled(board, ...pages) {
  await waitFor(async () => {
    const { version, state } = await env.server.state(board);
    for (const page of pages) {
      const status = await page.$eval('#status', (el) => ({ ...el.dataset }));
      if (status.state !== 'open' || status.pending !== '0' || Number(status.version) !== version) return false;
      const shown = await shownBoard(page);
      if (JSON.stringify(shown.todos.map((t) => t.id)) !== JSON.stringify(state.todos.map((t) => t.id))) return false;
    }
    return true;
  }, 'the pages to reach the server', 30000);
}

const todo = (page, text) => page.locator('#todos li', { has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) });

async function add(page, text) {
  await page.fill('#text', text);
  await page.click('#add button');
  await todo(page, text).waitFor({ timeout: 5000 });
}

/** The todos as the page shows them: text and done, in order. */
async function shown(page) {
  return (await shownBoard(page)).todos.map(({ text, done }) => `${text}${done ? ' ✓' : ''}`);
}

test("an undo reverts the user's own edit where it now is, and leaves the other user's edits", async () => {
  assert.equal((await env.server.api('POST', '/api/boards', { token: 'ann', body: { name: 'undo' } })).status, 201);
  const ann = await openBoard('ann', 'undo');
  const bob = await openBoard('bob', 'undo');
  const { state } = await env.server.state('undo');
  const before = state.todos.map((t) => `${t.text}${t.done ? ' ✓' : ''}`);

  for (const text of ['a', 'b', 'c']) await add(ann.page, text);
  await todo(ann.page, 'c').locator('input[type=checkbox]').check();
  await settled('undo', ann.page, bob.page);
  assert.deepEqual(await shown(bob.page), [...before, 'a', 'b', 'c ✓']);

  // Bob puts two todos in front of Ann's, removes one before it and ticks b.
  for (const text of ['bob1', 'bob2']) {
    await add(bob.page, text);
    const count = (await shownBoard(bob.page)).todos.length;
    for (let n = 0; n < count - 1; n++) await todo(bob.page, text).locator('[data-action="up"]').click();
  }
  await todo(bob.page, 'a').locator('[data-action="remove"]').click();
  await todo(bob.page, 'b').locator('input[type=checkbox]').check();
  await settled('undo', ann.page, bob.page);
  const withBob = ['bob2', 'bob1', ...before, 'b ✓', 'c ✓'];
  assert.deepEqual(await shown(ann.page), withBob);

  // Ann's undo unticks c, now two places further on; b stays ticked, Bob's todos stay.
  assert.equal(await ann.page.isDisabled('#undo'), false);
  await ann.page.click('#undo');
  const undone = ['bob2', 'bob1', ...before, 'b ✓', 'c'];
  assert.deepEqual(await shown(ann.page), undone);
  await settled('undo', ann.page, bob.page);
  assert.deepEqual(await shown(bob.page), undone);
  assert.equal(await ann.page.isDisabled('#redo'), false);

  // Redo and undo again from the keyboard.
  await ann.page.locator('body').press('Control+Shift+Z');
  await settled('undo', ann.page, bob.page);
  assert.deepEqual(await shown(bob.page), withBob);
  await ann.page.locator('body').press('Control+Z');
  await settled('undo', ann.page, bob.page);
  assert.deepEqual(await shown(bob.page), undone);

  // The next step back is Ann's adding c; Bob removes c first: that step is skipped, said to
  // be Bob's doing, and the undo goes on to the step before (adding b, which Bob ticked: his
  // edit inside it stands in the way too), and then to adding a, which Bob removed.
  await todo(bob.page, 'c').locator('[data-action="remove"]').click();
  await settled('undo', ann.page, bob.page);
  await ann.page.click('#undo');
  const notice = await ann.page.textContent('#notice');
  assert.match(notice, /bob changed or removed what it touched/, notice);
  assert.deepEqual(await shown(ann.page), ['bob2', 'bob1', ...before, 'b ✓']);
  assert.equal(await ann.page.isDisabled('#undo'), true);
  await settled('undo', ann.page, bob.page);
  assert.deepEqual(await shown(bob.page), ['bob2', 'bob1', ...before, 'b ✓']);
  assert.deepEqual([...ann.errors, ...bob.errors], []);
  await ann.context.close();
  await bob.context.close();
});
