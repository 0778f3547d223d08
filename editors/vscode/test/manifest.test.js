'use strict';
// package.json and language-configuration.json: the workspace-trust contract, the setting's
// scope, the contributions VS Code reads, and the indentation rules.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const read = (file) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));
const manifest = read('package.json');

test('untrusted workspaces: limited support, the server path restricted', () => {
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, [
    'guestlist.server.path',
  ]);
});

test('guestlist.server.path is a user or machine setting, default `guestlist`', () => {
  const setting = manifest.contributes.configuration.properties['guestlist.server.path'];
  assert.ok(['machine', 'application'].includes(setting.scope), setting.scope);
  assert.equal(setting.type, 'string');
  assert.equal(setting.default, 'guestlist');
});

test('guestlist.profile is a string setting, default `default`', () => {
  const setting = manifest.contributes.configuration.properties['guestlist.profile'];
  assert.equal(setting.type, 'string');
  assert.equal(setting.default, 'default');
});

test('the extension activates on policy files and its main file exists', () => {
  assert.ok(manifest.activationEvents.includes('onLanguage:policy'));
  assert.ok(fs.existsSync(path.join(ROOT, manifest.main)), manifest.main);
  assert.match(manifest.engines.vscode, /^\^1\.\d+\.\d+$/);
});

test('the policy language: .policy files, aliases, its configuration file', () => {
  const [language] = manifest.contributes.languages;
  assert.equal(language.id, 'policy');
  assert.deepEqual(language.extensions, ['.policy']);
  assert.ok(language.aliases.length > 0);
  assert.ok(fs.existsSync(path.join(ROOT, language.configuration)));
});

test('the grammar and the Markdown injection are contributed and name their scopes', () => {
  const grammars = manifest.contributes.grammars;
  const policy = grammars.find((g) => g.language === 'policy');
  assert.equal(policy.scopeName, 'source.guestlist-policy');
  assert.equal(read(policy.path).scopeName, 'source.guestlist-policy');
  const injection = grammars.find((g) => g.injectTo);
  assert.deepEqual(injection.injectTo, ['text.html.markdown']);
  const raw = read(injection.path);
  assert.equal(raw.scopeName, injection.scopeName);
  assert.equal(raw.injectionSelector, 'L:text.html.markdown');
  assert.equal(injection.embeddedLanguages['meta.embedded.block.guestlist-policy'], 'policy');
});

test('the language client is pinned in package-lock.json', () => {
  const lock = read('package-lock.json');
  const version = manifest.dependencies['vscode-languageclient'];
  assert.match(version, /^\d+\.\d+\.\d+$/, 'an exact version');
  assert.equal(lock.packages['node_modules/vscode-languageclient'].version, version);
  assert.equal(lock.packages[''].dependencies['vscode-languageclient'], version);
});

test('language configuration: # comments, brackets, indentation after { and before }', () => {
  const config = read('language-configuration.json');
  assert.equal(config.comments.lineComment, '#');
  assert.deepEqual(config.brackets[0], ['{', '}']);
  assert.ok(config.autoClosingPairs.some((p) => p.open === '"' && p.close === '"'));
  const increase = new RegExp(config.indentationRules.increaseIndentPattern);
  const decrease = new RegExp(config.indentationRules.decreaseIndentPattern);
  for (const line of ['cors api {', 'host "a.example.com" "b.example.com" {', 'csp app {  # strict']) {
    assert.ok(increase.test(line), line);
  }
  for (const line of [
    'route "/api/*" { cors api }',
    '    max-age 2h',
    '# cors api {',
    '    expect-header x "{nonce}"',
  ]) {
    assert.ok(!increase.test(line), line);
  }
  assert.ok(decrease.test('}'));
  assert.ok(decrease.test('    }'));
  assert.ok(!decrease.test('    cors api'));
});
