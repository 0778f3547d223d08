'use strict';
// The client under a stubbed `vscode` module and a recording `LanguageClient`: which binary
// it starts, with which arguments and options, in trusted and untrusted workspaces, and that
// it never reads the workspace's layers of `guestlist.server.path`.

const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('node:os');
const path = require('node:path');
const { world, load, WORKSPACE } = require('./stubs');

async function activate(options) {
  const w = world(options);
  const ext = load(w);
  const context = { subscriptions: [] };
  await ext.activate(context);
  return { w, ext, context };
}

test('a trusted workspace starts `guestlist lsp` by default, over stdio, without a shell', async () => {
  const { w } = await activate({ profile: 'dev' });
  assert.equal(w.started.length, 1);
  const { serverOptions, clientOptions } = w.started[0];
  assert.equal(serverOptions.command, 'guestlist');
  assert.deepEqual(serverOptions.args, ['lsp']);
  assert.equal(serverOptions.transport, undefined, 'stdio without an appended --stdio');
  assert.equal(serverOptions.options.shell, false);
  assert.equal(serverOptions.options.cwd, os.homedir());
  assert.ok(!serverOptions.options.cwd.startsWith(WORKSPACE));
  assert.deepEqual(clientOptions.initializationOptions, { profile: 'dev' });
  assert.deepEqual(
    clientOptions.documentSelector.map((s) => s.language),
    ['policy', 'policy'],
  );
  assert.deepEqual(w.forbidden, []);
});

test('the profile defaults to `default`', async () => {
  const { w } = await activate({});
  assert.deepEqual(w.started[0].clientOptions.initializationOptions, { profile: 'default' });
});

test('a workspace that sets guestlist.server.path does not choose the binary', async () => {
  const { w } = await activate({
    workspace: path.join(WORKSPACE, 'evil'),
    workspaceFolder: path.join(WORKSPACE, 'sub', 'evil'),
  });
  assert.equal(w.started.length, 1);
  assert.equal(w.started[0].serverOptions.command, 'guestlist');
  assert.deepEqual(w.forbidden, [], 'the workspace layers were read');
});

test('the user setting chooses the binary, whatever the workspace says', async () => {
  const { w } = await activate({ user: '/opt/guestlist/bin/guestlist', workspace: '/tmp/evil' });
  assert.equal(w.started[0].serverOptions.command, '/opt/guestlist/bin/guestlist');
  assert.deepEqual(w.forbidden, []);
});

test('an untrusted workspace without a user setting starts nothing until it is trusted', async () => {
  const { w } = await activate({ trusted: false, workspace: '/tmp/evil' });
  assert.equal(w.started.length, 0);
  assert.equal(w.warnings.length, 1);
  assert.match(w.warnings[0], /untrusted workspace/);
  w.trusted = true;
  await Promise.all(w.listeners.trust.map((f) => f()));
  assert.equal(w.started.length, 1);
  assert.equal(w.started[0].serverOptions.command, 'guestlist');
  assert.deepEqual(w.forbidden, []);
});

test('an untrusted workspace starts the binary of the user setting', async () => {
  const { w } = await activate({ trusted: false, user: '/usr/local/bin/guestlist' });
  assert.equal(w.started.length, 1);
  assert.equal(w.started[0].serverOptions.command, '/usr/local/bin/guestlist');
  assert.deepEqual(w.warnings, []);
});

test('a relative user path is refused: it would resolve inside the workspace', async () => {
  for (const user of ['./guestlist', 'target/debug/guestlist', '..\\guestlist.exe']) {
    const { w } = await activate({ user });
    assert.equal(w.started.length, 0, user);
    assert.equal(w.errors.length, 1, user);
    assert.match(w.errors[0], /relative path/);
  }
});

test('a blank user setting falls back to the default', async () => {
  const { w } = await activate({ user: '  ' });
  assert.equal(w.started[0].serverOptions.command, 'guestlist');
});

test('a binary that cannot be started is reported, with the setting to fix', async () => {
  const { w } = await activate({ failStart: true });
  assert.equal(w.started.length, 0);
  assert.equal(w.errors.length, 1);
  assert.match(w.errors[0], /could not start "guestlist lsp".*guestlist\.server\.path/);
});

test('changing the server path or the profile restarts the server', async () => {
  const { w } = await activate({});
  const event = (key) => ({ affectsConfiguration: (k) => k === key });
  await Promise.all(w.listeners.config.map((f) => f(event('editor.fontSize'))));
  assert.equal(w.started.length, 1);
  assert.equal(w.stopped, 0);
  await Promise.all(w.listeners.config.map((f) => f(event('guestlist.profile'))));
  assert.equal(w.stopped, 1);
  assert.equal(w.started.length, 2);
  await Promise.all(w.listeners.config.map((f) => f(event('guestlist.server.path'))));
  assert.equal(w.stopped, 2);
  assert.equal(w.started.length, 3);
});

test('deactivate stops the running server', async () => {
  const { w, ext } = await activate({});
  await ext.deactivate();
  assert.equal(w.stopped, 1);
});
