'use strict';
// The grammar against the checker's own lists: every block kind, setting, CSP directive,
// keyword and sandbox token, security header and value, test line, CSRF test token and
// decision kind that the compiler (compiler/src/check/) and the runtime accept gets its scope.
// A name added to the language fails here until the grammar knows it.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadPolicyGrammar, tokenize } = require('./tokenize');

const REPO = path.join(__dirname, '..', '..', '..');
const CHECK = path.join(REPO, 'compiler', 'src', 'check');

function source(...parts) {
  return fs.readFileSync(path.join(...parts), 'utf8');
}

/** The string literals of `const NAME ... = [ ... ];` (or `&[ ... ];`) in `text`. */
function constStrings(text, name) {
  const start = text.search(new RegExp(`const ${name}\\b[^=]*=\\s*&?\\[`));
  assert.ok(start >= 0, `const ${name} not found`);
  const end = text.indexOf('];', start);
  const list = [...text.slice(start, end).matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  assert.ok(list.length > 0, `const ${name} is empty`);
  return list;
}

/** The scopes of the token at `column` of line `lineNo` (0-based) of `text`. */
function scopesAt(lines, lineNo, column) {
  const token = lines[lineNo].find((t) => t.startIndex <= column && column < t.endIndex);
  assert.ok(token, `no token at ${lineNo}:${column}`);
  return token.scopes;
}

const S = '.guestlist-policy';
let grammar;

test.before(async () => {
  grammar = await loadPolicyGrammar();
});

/** Asserts that `word`, written at `column` of `line` in the body of `head`, has `scope`. */
function expectInBody(head, line, word, scope) {
  const text = `${head} {\n${line}\n}\n`;
  const lines = tokenize(grammar, text);
  const column = line.lastIndexOf(word);
  const scopes = scopesAt(lines, 1, column);
  assert.ok(scopes.includes(scope + S), `${JSON.stringify(line)} in ${head}: ${word} has ${scopes.join(' ')}, not ${scope}`);
  assert.ok(!scopes.some((s) => s.startsWith('invalid.illegal')), `${word}: ${scopes.join(' ')}`);
}

const checkMod = () => source(CHECK, 'mod.rs');
const blocks = () => source(CHECK, 'blocks.rs');

test('every block kind', () => {
  const heads = {
    route: 'route "/x/*" {',
    host: 'host "a.example.com" {',
    test: 'test "a test" {',
    paths: 'paths {',
  };
  const kinds = constStrings(checkMod(), 'BLOCKS');
  assert.ok(kinds.includes('websocket'));
  for (const kind of kinds) {
    const lines = tokenize(grammar, `${heads[kind] || `${kind} name {`}\n}\n`);
    const scopes = scopesAt(lines, 0, 0);
    assert.ok(scopes.includes(`storage.type.${kind}${S}`), `${kind}: ${scopes.join(' ')}`);
  }
  const hosts = tokenize(grammar, 'hosts dispatched-by-application\n');
  assert.ok(scopesAt(hosts, 0, 0).includes(`storage.type.hosts${S}`));
});

test('every cors, route, csrf, websocket and test setting', () => {
  const sets = [
    ['cors name', constStrings(blocks(), 'CORS_SETTINGS')],
    ['route "/x"', constStrings(blocks(), 'ROUTE_SETTINGS')],
    ['test "t"', constStrings(blocks(), 'TEST_SETTINGS')],
    ['csrf name', constStrings(source(CHECK, 'guards', 'csrf.rs'), 'CSRF_SETTINGS')],
    ['websocket name', constStrings(source(CHECK, 'guards', 'websocket.rs'), 'WS_SETTINGS')],
  ];
  for (const [head, settings] of sets) {
    for (const setting of settings) {
      const scope =
        setting === 'dangerously-allow' ? 'keyword.other.opt-out' : 'support.type.property-name';
      expectInBody(head, `    ${setting} x`, setting, scope);
    }
  }
});

test('every CSP directive, keyword and sandbox token', () => {
  const csp = source(CHECK, 'csp', 'grammar.rs');
  const deprecated = constStrings(csp, 'DEPRECATED');
  for (const list of ['FETCH', 'OTHER_SL', 'OTHER']) {
    for (const directive of constStrings(csp, list)) {
      const scope = deprecated.includes(directive)
        ? 'invalid.deprecated.csp'
        : 'support.type.property-name.csp';
      expectInBody('csp name', `    ${directive} 'self'`, directive, scope);
    }
  }
  for (const directive of deprecated) {
    expectInBody('csp name', `    ${directive} 'self'`, directive, 'invalid.deprecated.csp');
  }
  for (const keyword of constStrings(csp, 'KEYWORDS')) {
    expectInBody('csp name', `    script-src ${keyword}`, keyword, 'constant.language.csp-keyword');
  }
  for (const token of constStrings(csp, 'SANDBOX')) {
    expectInBody('csp name', `    sandbox ${token}`, token, 'constant.language.sandbox-token');
  }
});

test('every security header and its fixed values', () => {
  const text = source(CHECK, 'guards', 'headers.rs');
  const start = text.indexOf('const HEADER_VALUES');
  const table = text.slice(start, text.indexOf('];', start));
  const rows = [...table.matchAll(/\(\s*"([a-z-]+)",\s*(None|Some\(&\[([^\]]*)\]\))/g)];
  assert.ok(rows.length >= 10, `${rows.length} headers`);
  for (const [, name, , values] of rows) {
    expectInBody('headers name', `    ${name} x`, name, 'support.type.property-name.header');
    for (const value of [...(values || '').matchAll(/"([^"]+)"/g)].map((m) => m[1])) {
      expectInBody('headers name', `    ${name} ${value}`, value, 'constant.language.header-value');
    }
  }
  for (const setting of ['include', 'remove']) {
    expectInBody('headers name', `    ${setting} x`, setting, 'support.type.property-name');
  }
});

test('every csrf-token value and decision kind of test blocks', () => {
  for (const token of constStrings(blocks(), 'TEST_TOKENS')) {
    expectInBody('test "t"', `    csrf-token ${token}`, token, 'constant.language.csrf-token');
  }
  const reason = source(REPO, 'runtime', 'src', 'reason.rs');
  const start = reason.indexOf('pub fn from_name');
  const kinds = [...reason.slice(start, reason.indexOf('})', start)).matchAll(/"([a-z-]+)" =>/g)].map(
    (m) => m[1],
  );
  assert.ok(kinds.length >= 10, kinds.join(' '));
  for (const kind of kinds) {
    expectInBody('test "t"', `    expect ${kind}`, kind, 'constant.language.outcome');
  }
});
