// The package's types under the TypeScript compiler (`tsc --noEmit --strict`, the pinned dev
// dependency): every .d.ts of the package compiles; test/ts/ok.ts, correct uses of the client
// with the types generated from Rust (test/ts/fixtures.d.ts), compiles; and each file of
// test/ts/wrong/ holds one mistake that must fail with the errors kept beside it in
// `<name>.expected`, like trybuild's `.stderr` (regenerate them with `UPDATE_EXPECT=1` and read
// them: each must tell the user what is wrong).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
const OPTIONS = [
  '--noEmit',
  '--strict',
  '--pretty', 'false',
  '--target', 'es2022',
  '--lib', 'es2022,dom',
  '--module', 'nodenext',
  '--moduleResolution', 'nodenext',
];

/** Runs tsc over `files` (relative to the package) and resolves with its exit code and output. */
function compile(files) {
  return new Promise((resolve, reject) => {
    execFile(tsc, [...OPTIONS, ...files], { cwd: root, timeout: 120000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error === null ? 0 : error.code, output: `${stdout}${stderr}`.replaceAll('\r\n', '\n') });
    });
  });
}

/** tsc's output, by file: each error line with the lines that go on with it (indented). */
function byFile(output) {
  const files = new Map();
  let current = null;
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const head = /^(\S[^(]*)\(\d+,\d+\): /.exec(line);
    if (head !== null) current = head[1];
    if (current === null) throw new Error(`tsc said something that belongs to no file: ${line}`);
    if (!files.has(current)) files.set(current, []);
    files.get(current).push(line);
  }
  return files;
}

test('every .d.ts of the package compiles under --strict', async () => {
  const declarations = readdirSync(root).filter((name) => name.endsWith('.d.ts'));
  assert.ok(declarations.includes('index.d.ts'));
  const { code, output } = await compile([...declarations, 'test/ts/fixtures.d.ts']);
  assert.equal(output, '');
  assert.equal(code, 0);
});

test('correct recipes, reads and subscriptions with the generated types compile', async () => {
  const { code, output } = await compile(['test/ts/ok.ts']);
  assert.equal(output, '');
  assert.equal(code, 0);
});

test('each mistake of test/ts/wrong fails with the expected errors', async () => {
  const wrong = readdirSync(join(root, 'test', 'ts', 'wrong'))
    .filter((name) => name.endsWith('.ts'))
    .sort()
    .map((name) => `test/ts/wrong/${name}`);
  assert.ok(wrong.length >= 6, `${wrong.length} cases`);
  // One run for them all: each file is a module of its own, so a mistake in one cannot change
  // what another gives.
  const { code, output } = await compile(wrong);
  assert.notEqual(code, 0);
  const errors = byFile(output);
  for (const name of errors.keys()) assert.ok(wrong.includes(name), `an error in ${name}, which is not a case:\n${output}`);
  const update = process.env.UPDATE_EXPECT === '1';
  for (const file of wrong) {
    const got = (errors.get(file) ?? []).join('\n');
    assert.notEqual(got, '', `${file} compiles: its mistake is not caught`);
    const expectedFile = join(root, file.replace(/\.ts$/, '.expected'));
    if (update) {
      writeFileSync(expectedFile, `${got}\n`);
      continue;
    }
    assert.ok(existsSync(expectedFile), `no ${file.replace(/\.ts$/, '.expected')}: run with UPDATE_EXPECT=1 and read it`);
    assert.equal(got, readFileSync(expectedFile, 'utf8').trimEnd(), `${file}: tsc's errors changed (UPDATE_EXPECT=1 writes them)`);
  }
});
