// The devtools page in headless Chromium: a recorded session of 10,000 entries on a
// 100,000-todo board (written by the devtools example, with the history's own states beside
// it), jumps to the first, middle and last versions checked against those states, an entry
// skipped, a screenshot; and a truncated session refused with its line number, by the
// program and on the page. The jump times and the server's resident memory are printed, and
// held to issue 23's targets: each jump rendered in under 200 ms, at most 300 MB resident
// (read from /proc, where the system has one).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { targetDir, launchBrowser } from './server.js';

const output = new URL('./output/', import.meta.url);
const work = mkdtempSync(join(tmpdir(), 'immer-devtools-'));
const session = join(work, 'session.jsonl');
let browser;
let server;

function binary() {
  const bin = process.env.DEVTOOLS_BIN ?? join(targetDir, 'release', 'examples', 'devtools');
  if (!existsSync(bin)) {
    throw new Error(`no devtools binary at ${bin}: run \`cargo build --release -p immer-web --example devtools\` first`);
  }
  return bin;
}

/** Runs the program to its end; resolves with its exit code and output. */
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`devtools ${args.join(' ')} did not finish in 120 s`));
    }, 120000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Starts the program on a session and resolves with its address and the process. */
async function serve(file) {
  const child = spawn(binary(), [file, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('devtools did not listen within 60 s')), 60000);
    createInterface({ input: child.stdout }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`devtools exited (${code})`)));
  });
  return { child, url: line.replace(/^listening on /, '') };
}

before(async () => {
  const made = await run(['--demo', session, '10000', '100000']);
  assert.equal(made.code, 0, made.out);
  server = await serve(session);
  browser = await launchBrowser();
  mkdirSync(output, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (server && server.child.exitCode === null) {
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

/** A process's resident memory in MB, or null where the system does not say (no /proc). */
function residentMb(pid) {
  try {
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : null;
  } catch {
    return null;
  }
}

/** The text of the value at `pointer` as the tree shows it, opened along the way. */
function shown(page, pointer) {
  return page.evaluate(
    (p) => window.devtools.reveal(p).then((li) => li.querySelector(':scope > .line > .value')?.textContent),
    pointer,
  );
}

test('jumps show the history’s own states; skipping an entry shows the state without it', async () => {
  const expected = JSON.parse(readFileSync(`${session}.expected.json`, 'utf8'));
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  assert.match(await page.textContent('#range'), /versions 0–10000/);
  const loaded = residentMb(server.child.pid);

  const timings = [];
  for (const version of [0, expected.newest / 2, expected.newest]) {
    await page.evaluate((v) => window.devtools.jump(v), version);
    timings.push([version, await page.evaluate(() => window.devtools.lastRenderMs)]);
    for (const [pointer, value] of Object.entries(expected.versions[String(version)])) {
      assert.equal(await shown(page, pointer), JSON.stringify(value), `${pointer} at version ${version}`);
    }
  }
  for (const [version, ms] of timings) console.log(`jump to version ${version}: rendered in ${ms.toFixed(1)} ms`);
  for (const [version, ms] of timings) assert.ok(ms < 200, `the jump to version ${version} took ${ms} ms`);

  // Skip an entry: the newest state as if it had never happened.
  const { entry, path, value, current } = expected.skip;
  await page.evaluate((e) => window.devtools.select(e, e + 1), entry);
  await page.click('#skip');
  await page.waitForSelector('#banner.on');
  assert.equal(await shown(page, path), JSON.stringify(value));
  await page.click('#unskip');
  await page.evaluate(() => window.devtools.jump(window.devtools.view.newest));
  assert.equal(await shown(page, path), JSON.stringify(current));

  await page.evaluate((e) => window.devtools.select(e, e + 1), entry);
  await page.screenshot({ path: new URL('devtools.png', output).pathname });
  const after = residentMb(server.child.pid);
  if (loaded !== null && after !== null) {
    console.log(`server resident memory: ${loaded.toFixed(0)} MB loaded, ${after.toFixed(0)} MB after the jumps and the skip`);
    assert.ok(Math.max(loaded, after) <= 300, `the server holds ${Math.max(loaded, after)} MB`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('a truncated session is refused with its line number, by the program and on the page', async () => {
  // Cut in the middle of line 5,002 (the session's first line is its base state).
  const all = readFileSync(session, 'utf8').split('\n');
  const lines = 5002;
  const cut = `${all.slice(0, lines - 1).join('\n')}\n${all[lines - 1].slice(0, 40)}`;
  const truncated = join(work, 'truncated.jsonl');
  writeFileSync(truncated, cut);
  const refused = await run([truncated, '--port', '0']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.out, new RegExp(`refused: line ${lines} of the history log is not a history entry`));

  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  await page.setInputFiles('#import', truncated);
  await page.waitForFunction(() => document.getElementById('error').textContent !== '', null, { timeout: 60000 });
  assert.match(await page.textContent('#error'), new RegExp(`import refused: line ${lines} of the history log`));
  // The session shown is still the whole one.
  assert.match(await page.textContent('#range'), /versions 0–10000/);
  await page.close();
});
