'use strict';
// The TextMate grammar tests (vscode-tmgrammar-test on the annotated fixtures in
// test/grammar/), run from node's test runner: every fixture passes, every fixture was run,
// and a fixture with one wrong scope assertion fails.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const FIXTURES = path.join(__dirname, 'grammar');
const RUNNER = require.resolve('vscode-tmgrammar-test/dist/unit.js');
// VS Code's Markdown grammar, the host of the fenced-code-block injection.
const MARKDOWN = require.resolve('tm-grammars/grammars/markdown.json');

/** Runs the grammar tests on `files` (the grammars come from package.json, plus Markdown). */
function run(files) {
  const r = spawnSync(process.execPath, [RUNNER, '--compact', '-g', MARKDOWN, ...files], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  // The Markdown grammar names embedded languages that are not loaded here.
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l && !/^grammar not found for "[^"]+"$/.test(l))
    .join('\n');
  return { status: r.status, stdout: r.stdout, stderr };
}

const fixtures = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.policy') || f.endsWith('.md'))
  .sort();

test('the fixtures cover policy files and Markdown', () => {
  assert.ok(fixtures.filter((f) => f.endsWith('.policy')).length >= 4, fixtures.join(' '));
  assert.ok(fixtures.some((f) => f.endsWith('.md')), fixtures.join(' '));
});

test('every annotated fixture passes', () => {
  const r = run(fixtures.map((f) => path.join('test', 'grammar', f)));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stderr, '');
  for (const f of fixtures) {
    assert.ok(
      r.stdout.includes(`✓ test/grammar/${f} run successfuly.`),
      `${f} was not run:\n${r.stdout}`,
    );
  }
});

test('a wrong scope assertion fails', () => {
  const source = fs.readFileSync(path.join(FIXTURES, 'origins-cors.policy'), 'utf8');
  const wrong = source.replace(
    '#    ^^^ entity.name.type.cors.guestlist-policy',
    '#    ^^^ entity.name.type.csp.guestlist-policy',
  );
  assert.notEqual(wrong, source, 'the assertion to break was not found');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guestlist-grammar-'));
  try {
    const file = path.join(dir, 'wrong.policy');
    fs.writeFileSync(file, wrong);
    const r = run([file]);
    assert.notEqual(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Missing required scopes: \[ entity\.name\.type\.csp\.guestlist-policy \]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a prohibited scope that is present fails', () => {
  const source = fs.readFileSync(path.join(FIXTURES, 'lexical.policy'), 'utf8');
  const wrong = source.replace(
    '#                                              ^ string.quoted.double.origin.guestlist-policy - comment',
    '#                                              ^ - string.quoted.double.origin.guestlist-policy',
  );
  assert.notEqual(wrong, source, 'the assertion to break was not found');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guestlist-grammar-'));
  try {
    const file = path.join(dir, 'wrong.policy');
    fs.writeFileSync(file, wrong);
    const r = run([file]);
    assert.notEqual(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Prohibited scopes: \[ string\.quoted\.double\.origin\.guestlist-policy \]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
