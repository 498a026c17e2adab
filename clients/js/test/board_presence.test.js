// Presence on the demo board, in headless Chromium: who is on a board appears on the others'
// pages, with the todo under their pointer; a viewer shows up too; someone on another board
// never does; a page that closes is gone from the others' pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, openBoardPage, serverAndBrowser } from './server.js';

const env = serverAndBrowser();

const openBoard = (user, board) => openBoardPage(env.browser, env.server, user, board);

/** The users the page shows on its board, besides its own. */
const online = (page) => page.$$eval('#online .who:not(.me)', (els) => els.map((el) => el.dataset.user).sort());

/** Who the page shows at each todo, by the todo's id. */
const at = (page) => page.$$eval('#todos li', (lis) => Object.fromEntries(
  lis.map((li) => [li.dataset.id, [...li.querySelectorAll('.at')].map((el) => el.dataset.user)]).filter(([, users]) => users.length > 0),
));

async function shows(page, what, expected, read) {
  await waitFor(async () => JSON.stringify(await read(page)) === JSON.stringify(expected), `${what}: ${JSON.stringify(expected)}`, 10000);
}

test('the board shows who is on it and where, and takes away who left', async () => {
  for (const name of ['team', 'elsewhere']) {
    assert.equal((await env.server.api('POST', '/api/boards', { token: 'ann', body: { name } })).status, 201);
  }
  const bob = await openBoard('bob', 'team');
  const ann = await openBoard('ann', 'team');
  const victor = await openBoard('victor', 'team');
  const carol = await openBoard('carol', 'elsewhere');
  await shows(bob.page, "bob's page, who is on team", ['ann', 'victor'], online);
  await shows(ann.page, "ann's page, who is on team", ['bob', 'victor'], online);
  await shows(carol.page, "carol's page, alone on elsewhere", [], online);

  const [first, second] = await ann.page.$$eval('#todos li', (lis) => lis.map((li) => li.dataset.id));
  await ann.page.hover(`#todos li[data-id="${second}"] .text`);
  await shows(bob.page, "bob's page, where ann is", { [second]: ['ann'] }, at);
  await victor.page.hover(`#todos li[data-id="${first}"] .text`);
  await shows(bob.page, "bob's page, where ann and victor are", { [first]: ['victor'], [second]: ['ann'] }, at);
  await shows(ann.page, "ann's page, where victor is", { [first]: ['victor'] }, at);
  // Leaving the list shows nobody at a todo; the user is still on the board.
  await ann.page.hover('#title');
  await shows(bob.page, "bob's page, ann away from the todos", { [first]: ['victor'] }, at);
  assert.deepEqual(await online(bob.page), ['ann', 'victor']);

  await ann.context.close();
  await shows(bob.page, "bob's page once ann's closed", ['victor'], online);
  await victor.context.close();
  await shows(bob.page, "bob's page once victor's closed", [], online);
  await shows(bob.page, "bob's page, nobody at a todo", {}, at);
  assert.deepEqual(await online(carol.page), []);
  assert.deepEqual([...bob.errors, ...carol.errors], []);
  await bob.context.close();
  await carol.context.close();
});
