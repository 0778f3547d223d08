'use strict';
// Stubs for the client's two imports, `vscode` and `vscode-languageclient/node`: a world of
// settings layers, workspace trust and messages, with a LanguageClient that records what it
// was given, and `load`, which requires extension.js afresh against them.

const assert = require('node:assert/strict');
const Module = require('node:module');
const os = require('node:os');
const path = require('node:path');

const EXTENSION = path.join(__dirname, '..', 'extension.js');
const WORKSPACE = path.join(os.tmpdir(), 'hostile-repo');

/** A fresh stub world: the settings layers, the trust state and what the client recorded. */
function world({ user, workspace, workspaceFolder, trusted = true, profile, failStart = false }) {
  const w = {
    trusted,
    started: [],
    stopped: 0,
    warnings: [],
    errors: [],
    forbidden: [],
    listeners: { trust: [], config: [] },
  };
  const inspected = {
    key: 'guestlist.server.path',
    defaultValue: 'guestlist',
    globalValue: user,
  };
  // Reading a workspace layer is a failure of the test, whatever the value.
  for (const [layer, value] of [
    ['workspaceValue', workspace],
    ['workspaceFolderValue', workspaceFolder],
  ]) {
    Object.defineProperty(inspected, layer, {
      enumerable: true,
      get() {
        w.forbidden.push(layer);
        return value;
      },
    });
  }
  const configuration = {
    inspect(key) {
      assert.equal(key, 'server.path');
      return inspected;
    },
    get(key) {
      if (key === 'server.path') {
        w.forbidden.push('get(server.path)');
        return workspace || user || 'guestlist';
      }
      if (key === 'profile') {
        return profile;
      }
      return undefined;
    },
  };
  const vscode = {
    workspace: {
      get isTrusted() {
        return w.trusted;
      },
      workspaceFolders: [{ uri: { fsPath: WORKSPACE } }],
      getConfiguration(section) {
        assert.equal(section, 'guestlist');
        return configuration;
      },
      onDidGrantWorkspaceTrust(f) {
        w.listeners.trust.push(f);
        return { dispose() {} };
      },
      onDidChangeConfiguration(f) {
        w.listeners.config.push(f);
        return { dispose() {} };
      },
    },
    window: {
      showWarningMessage(m) {
        w.warnings.push(m);
      },
      showErrorMessage(m) {
        w.errors.push(m);
      },
    },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      this.record = { id, name, serverOptions, clientOptions };
    }
    start() {
      if (failStart) {
        return Promise.reject(new Error('spawn guestlist ENOENT'));
      }
      w.started.push(this.record);
      return Promise.resolve();
    }
    stop() {
      w.stopped += 1;
      return Promise.resolve();
    }
  }
  w.modules = { vscode, 'vscode-languageclient/node': { LanguageClient } };
  return w;
}

/** Loads extension.js afresh with the stubs of `w` in place of its two imports. */
function load(w) {
  const original = Module._load;
  Module._load = function (request, parent, isMain) {
    if (Object.prototype.hasOwnProperty.call(w.modules, request)) {
      return w.modules[request];
    }
    return original.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[require.resolve(EXTENSION)];
    return require(EXTENSION);
  } finally {
    Module._load = original;
  }
}

module.exports = { world, load, WORKSPACE };
