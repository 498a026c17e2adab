// Presence against the real Rust server (the web_board example, started by the tests): what a
// store shows the others appears for them as the user the server authenticated, never for
// itself, is sent at most every 50 ms with the newest state, goes when its store, document or
// socket closes, comes back after a reconnect, is refused when too large, and never changes
// the document. Then in headless Chromium: two pages, one's cursor appears on the other and
// disappears when the first page closes (screenshot in test/output/).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import WebSocket from 'ws';
import { connect, connectMany } from '../index.js';
import { launchBrowser, startServer, waitFor } from './server.js';

let server;
let browser;
const stores = [];
const connections = [];

before(async () => {
  server = await startServer();
});
after(async () => {
  for (const store of stores) store.close();
  for (const connection of connections) connection.disconnect();
  await browser?.close();
  await server?.stop();
});

async function store(token, options = {}) {
  const opened = await connect(server.ws, { token, WebSocket, ...options });
  stores.push(opened);
  return opened;
}

function many(token, options = {}) {
  const opened = connectMany(server.wsMany, { token, WebSocket, ...options });
  connections.push(opened);
  return opened;
}

/** The presences `doc` shows, as `user: state` (JSON). */
const shown = (doc) => doc.presence().map((p) => `${p.user}: ${JSON.stringify(p.state)}`);

/** Counts the presence messages `socketOf()` sends from now on. */
function countSent(socketOf) {
  const counted = { presence: 0 };
  const socket = socketOf();
  const send = socket.send.bind(socket);
  socket.send = (text) => {
    if (JSON.parse(text).type === 'presence') counted.presence++;
    send(text);
  };
  return counted;
}

test('a store shows its presence to the others, as the server knows its user, until it closes', async () => {
  const before = await server.state();
  const ann = await store('ann');
  const bob = await store('bob');
  const victor = await store('victor');
  const calls = [];
  bob.subscribePresence((presences) => calls.push(presences));

  // Ann claims to be someone else in her state: shown as the user her token is.
  ann.setPresence({ cursor: [1, 2], name: 'not ann' });
  await waitFor(() => bob.presence().length === 1, "Ann's presence at Bob's");
  assert.deepEqual(bob.presence()[0].user, 'ann');
  assert.deepEqual(bob.presence()[0].state, { cursor: [1, 2], name: 'not ann' });
  assert.ok(calls.length >= 1);

  // A viewer, who edits nothing, shows a presence too; nobody is shown their own.
  victor.setPresence({ looking: true });
  await waitFor(() => shown(ann).join() === 'victor: {"looking":true}', "Victor's presence at Ann's");
  await waitFor(() => shown(bob).length === 2, 'both presences at Bob\'s');
  await waitFor(() => shown(victor).join() === 'ann: {"cursor":[1,2],"name":"not ann"}', "only Ann's at Victor's");

  // A hundred moves at once: sent as a few messages, and the last is what the others see.
  const sent = countSent(() => ann.socket);
  const heard = calls.length;
  for (let i = 0; i < 100; i++) ann.setPresence({ cursor: [i, i] });
  await waitFor(() => JSON.stringify(bob.presence().find((p) => p.user === 'ann')?.state) === '{"cursor":[99,99]}', 'the last move at Bob\'s');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(sent.presence <= 2, `${sent.presence} presence messages for 100 moves`);
  assert.ok(calls.length - heard <= 3, `${calls.length - heard} presence changes at Bob's for 100 moves`);

  // Too large: refused with the reason, and what was shown stays.
  const refused = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no presenceRefused within 10 s')), 10000);
    ann.on('presenceRefused', (event) => {
      clearTimeout(timer);
      resolve(event);
    });
  });
  ann.setPresence({ text: 'x'.repeat(5000) });
  const { reason } = await refused;
  assert.match(reason, /bytes/);
  assert.equal(JSON.stringify(bob.presence().find((p) => p.user === 'ann').state), '{"cursor":[99,99]}');
  // The state kept alive (and shown again after a reconnect) is the one the server took.
  assert.deepEqual(ann.ownPresence, { cursor: [99, 99] });

  // Cleared, and shown again; then gone with its store.
  ann.setPresence(null);
  await waitFor(() => shown(bob).join() === 'victor: {"looking":true}', "Ann's presence cleared at Bob's");
  ann.setPresence({ back: true });
  await waitFor(() => shown(bob).length === 2, "Ann's presence back at Bob's");
  ann.close();
  await waitFor(() => shown(bob).join() === 'victor: {"looking":true}', "Ann's presence gone at Bob's");
  await waitFor(() => ann.presence().length === 0, 'nothing shown at a closed store');

  // The document never changed.
  const after = await server.state();
  assert.equal(after.version, before.version);
  assert.deepEqual(after.state, before.state);
  bob.close();
  victor.close();
});

test('on one socket of many documents, each document has its presence; closed or dropped, it goes and comes back', async () => {
  const created = await server.api('POST', '/api/boards', { token: 'ann', body: { name: 'presence-b' } });
  assert.equal(created.status, 201);
  const ann = many('ann');
  const bob = many('bob');
  const [annW, annB, bobW, bobB] = await Promise.all([
    ann.open('welcome'),
    ann.open('presence-b'),
    bob.open('welcome'),
    bob.open('presence-b'),
  ]);
  annW.setPresence({ at: 'w' });
  annB.setPresence({ at: 'b' });
  await waitFor(() => shown(bobW).join() === 'ann: {"at":"w"}' && shown(bobB).join() === 'ann: {"at":"b"}', 'each presence on its board');

  // A document closed (unsubscribed): its presence goes there only.
  annB.close();
  await waitFor(() => shown(bobB).length === 0, "Ann's presence gone from presence-b");
  assert.deepEqual(shown(bobW), ['ann: {"at":"w"}']);

  // The socket dropped: gone, then shown again once the connection is back.
  const changes = [];
  bobW.subscribePresence((presences) => changes.push(presences.length));
  ann.socket.close(4000, 'dropped by the test');
  await waitFor(() => changes.includes(0) && changes.at(-1) === 1, "Ann's presence gone and back", 15000);
  assert.deepEqual(shown(bobW), ['ann: {"at":"w"}']);

  // Kept alive: sent again every `presenceKeepAlive`.
  const carol = many('carol', { presenceKeepAlive: 100 });
  const carolW = await carol.open('welcome');
  carolW.setPresence({ at: 'c' });
  await waitFor(() => shown(bobW).includes('carol: {"at":"c"}'), "Carol's presence");
  const sent = countSent(() => carol.socket);
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.ok(sent.presence >= 3, `${sent.presence} keep-alives in 700 ms`);
  carol.disconnect();
  await waitFor(() => !shown(bobW).some((p) => p.startsWith('carol')), "Carol's presence gone");
  ann.disconnect();
  bob.disconnect();
});

/** A page of the server's origin (served by the test): a board's presence, as the client shows it. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8">
<script type="importmap">{ "imports": { "immer": "/vendor/immer.mjs" } }</script>
<style>.cursor { position: absolute; width: 10px; height: 10px; border-radius: 5px; background: crimson; }</style>
</head><body><ul id="others"></ul><div id="cursors"></div>
<script type="module">
import { connectMany } from '/client/index.js';
const token = new URLSearchParams(location.search).get('token');
const connection = connectMany(\`ws://\${location.host}/ws\`, { token });
const board = await connection.open('welcome');
board.subscribePresence((others) => {
  const list = document.getElementById('others');
  list.replaceChildren(...others.map((other) => {
    const item = document.createElement('li');
    item.dataset.user = other.user;
    item.textContent = \`\${other.user} at \${other.state?.cursor?.join(',')}\`;
    return item;
  }));
  document.getElementById('cursors').replaceChildren(...others.map((other) => {
    const cursor = document.createElement('div');
    cursor.className = 'cursor';
    const [x, y] = other.state?.cursor ?? [0, 0];
    cursor.style.left = \`\${x}px\`;
    cursor.style.top = \`\${y}px\`;
    return cursor;
  }));
});
document.addEventListener('mousemove', (event) => board.setPresence({ cursor: [event.clientX, event.clientY] }));
document.body.dataset.ready = 'true';
</script></body></html>`;

test('in Chromium, one page\'s cursor appears on another and disappears when the first page closes', async () => {
  // The page is the test's, served through Playwright's routing on the server's origin, which
  // Chromium does not count as a local address: its local-network checks would block the
  // page's WebSocket to 127.0.0.1.
  browser = await launchBrowser(['--disable-features=LocalNetworkAccessChecks']);
  const output = new URL('./output/', import.meta.url);
  mkdirSync(output, { recursive: true });
  const open = async (token) => {
    const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error));
    await page.route(`${server.http}/presence-test*`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
    await page.goto(`${server.http}/presence-test?token=${token}`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 15000 });
    return { page, errors };
  };
  const ann = await open('ann');
  const bob = await open('bob');
  await ann.page.mouse.move(100, 120);
  await ann.page.mouse.move(140, 160, { steps: 5 });
  const annAtBob = bob.page.locator('#others li[data-user="ann"]');
  await annAtBob.waitFor({ timeout: 10000 });
  await waitFor(async () => (await annAtBob.textContent()) === 'ann at 140,160', "Ann's cursor at 140,160 on Bob's page");
  await bob.page.screenshot({ path: new URL('presence.png', output).pathname });
  // Bob's own cursor is not shown on his page, only on Ann's.
  await bob.page.mouse.move(10, 20);
  await ann.page.locator('#others li[data-user="bob"]').waitFor({ timeout: 10000 });
  assert.equal(await bob.page.locator('#others li[data-user="bob"]').count(), 0);

  await ann.page.close();
  await annAtBob.waitFor({ state: 'detached', timeout: 10000 });
  assert.deepEqual([...ann.errors, ...bob.errors], []);
  await bob.page.close();
});
