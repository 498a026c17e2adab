// Starts the demo server (the `web_board` example, built by the README's test command) on a
// free port for a test file, and stops it after.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const targetDir = process.env.CARGO_TARGET_DIR ?? join(here, '..', '..', '..', 'target');

/** The server binary: $WEB_BOARD_BIN, or the debug build of the example. */
export function serverBinary() {
  const bin = process.env.WEB_BOARD_BIN ?? join(targetDir, 'debug', 'examples', 'web_board');
  if (!existsSync(bin)) {
    throw new Error(`no server binary at ${bin}: run \`cargo build -p immer-web --example web_board\` first`);
  }
  return bin;
}

/** Debian's Chromium (or $CHROMIUM_PATH): a test that cannot find it fails. */
export function chromiumPath() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((path) => path && existsSync(path));
  if (found === undefined) {
    throw new Error('no Chromium: install it (`apt-get install chromium`) or set CHROMIUM_PATH');
  }
  return found;
}

/**
 * Starts a server on `port` (0: any free one) with its boards kept under `data` (a new
 * temporary directory unless given: pass a stopped server's `data` to start it again on the
 * same boards); resolves with its http address, the WebSocket of its first board, `welcome`
 * (`ws`, for `connect`), the socket of many boards (`wsMany`, for `connectMany`), a board's
 * state, the JSON API, a `stop()` and a `kill()`.
 *
 * @returns {Promise<{ http: string, ws: string, wsMany: string, data: string, stop: () => Promise<void>, kill: () => Promise<void>, state: (board?: string) => Promise<any>, api: (method: string, path: string, options?: { token?: string, body?: any }) => Promise<Response> }>}
 */
export async function startServer(port = 0, data = undefined) {
  const owned = data === undefined;
  const dir = data ?? mkdtempSync(join(tmpdir(), 'immer-board-'));
  const child = spawn(serverBinary(), ['--port', String(port), '--data', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 30 s')), 30000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  const http = first.replace(/^listening on /, '');
  const wsMany = `${http.replace(/^http/, 'ws')}/ws`;
  const api = (method, path, { token, body } = {}) => {
    const headers = token === undefined ? {} : { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(`${http}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  return {
    http,
    ws: `${wsMany}/welcome`,
    wsMany,
    child,
    data: dir,
    port: Number(new URL(http).port),
    api,
    /** The board's version and state (`welcome` unless named), as a viewer reads them. */
    async state(board = 'welcome') {
      const response = await api('GET', `/api/boards/${board}`, { token: 'victor' });
      if (!response.ok) throw new Error(`GET /api/boards/${board}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (owned) rmSync(dir, { recursive: true, force: true });
    },
    /** Kills the process with SIGKILL (no chance to write anything more) and waits for it. */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resolves when `predicate()` holds, checking every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(predicate, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Headless Chromium (see `chromiumPath`), as every browser test launches it, with `args` added. */
export function launchBrowser(args = []) {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', ...args],
    timeout: 30000,
  });
}

/** The board as the demo page shows it. */
export function shownBoard(page) {
  return page.evaluate(() => ({
    title: document.getElementById('title').textContent,
    todos: [...document.querySelectorAll('#todos li')].map((li) => ({
      id: li.dataset.id,
      text: li.querySelector('.text').textContent,
      done: li.querySelector('input[type=checkbox]').checked,
    })),
  }));
}

/**
 * A page of the demo board `board` for `user`, in a context of its own (its own IndexedDB),
 * open on the board; its script errors are collected in `errors`.
 *
 * @returns {Promise<{ page: any, errors: Error[], context: any }>}
 */
export async function openBoardPage(browser, server, user, board) {
  const context = await browser.newContext({ viewport: { width: 640, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${server.http}/b/${board}?token=${user}`);
  await page.waitForSelector('#status[data-state="open"]', { timeout: 15000 });
  return { page, errors, context };
}

/**
 * The demo server and headless Chromium for the tests of one file: both start before its first
 * test and stop after its last. Read them as `env.server` and `env.browser` inside the tests.
 */
export function serverAndBrowser() {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}
