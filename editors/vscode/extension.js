'use strict';
// The VS Code client for guestlist policy files: starts `<guestlist.server.path> lsp` (the
// guestlist language server, JSON-RPC over stdio) for documents of the `policy` language.
//
// The binary comes from user (or remote machine) settings only. `inspect()` returns every
// settings layer; this file reads its `globalValue` (user settings) and `defaultValue`, never
// `workspaceValue` or `workspaceFolderValue`, and never `get()`, which merges the workspace's
// layers in. The manifest marks the setting `machine`-scoped and restricted in untrusted
// workspaces as well, so a repository's `.vscode/settings.json` cannot choose what runs.

const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

const SECTION = 'guestlist';
const PATH_KEY = 'server.path';
const DEFAULT_COMMAND = 'guestlist';

let client;
let starting;

/**
 * The server binary: `{ command, fromUser }` from the user's `guestlist.server.path`, else the
 * default (`guestlist`, looked up on PATH); `{ error }` for a path that would be resolved
 * against the working directory (`./guestlist`, `bin/guestlist`).
 */
function serverPath(configuration) {
  const inspected = configuration.inspect(PATH_KEY) || {};
  const user = nonEmpty(inspected.globalValue);
  const command = user !== undefined ? user : nonEmpty(inspected.defaultValue) || DEFAULT_COMMAND;
  if (!path.isAbsolute(command) && /[\\/]/.test(command)) {
    return {
      error: `guestlist.server.path is the relative path "${command}": write an absolute path, or a command name found on PATH`,
    };
  }
  return { command, fromUser: user !== undefined };
}

function nonEmpty(value) {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * How the server is spawned: stdio, no shell, and a working directory outside every workspace
 * folder, so that a bare command name is never found in the opened repository (Windows searches
 * the working directory first, and a PATH may hold `.`). `transport` stays unset: set to stdio,
 * the client would append `--stdio` to the arguments.
 */
function serverOptions(command) {
  return {
    command,
    args: ['lsp'],
    options: { cwd: os.homedir(), shell: false },
  };
}

function clientOptions(configuration) {
  const profile = nonEmpty(configuration.get('profile')) || 'default';
  return {
    documentSelector: [
      { scheme: 'file', language: 'policy' },
      { scheme: 'untitled', language: 'policy' },
    ],
    initializationOptions: { profile },
  };
}

/** Starts the client unless it runs already; resolves to whether a client was started. */
async function start() {
  if (client || starting) {
    return false;
  }
  const configuration = vscode.workspace.getConfiguration(SECTION);
  const server = serverPath(configuration);
  if (server.error) {
    vscode.window.showErrorMessage(server.error);
    return false;
  }
  if (!vscode.workspace.isTrusted && !server.fromUser) {
    vscode.window.showWarningMessage(
      'guestlist: the language server does not start in an untrusted workspace unless guestlist.server.path is set in your user settings (or you trust the workspace).',
    );
    return false;
  }
  const next = new LanguageClient(
    'guestlist',
    'guestlist language server',
    serverOptions(server.command),
    clientOptions(configuration),
  );
  starting = next
    .start()
    .then(() => {
      client = next;
    })
    .catch((err) => {
      vscode.window.showErrorMessage(
        `guestlist: could not start "${server.command} lsp" (${err && err.message ? err.message : err}); set guestlist.server.path in your user settings to the guestlist binary`,
      );
    })
    .finally(() => {
      starting = undefined;
    });
  await starting;
  return client === next;
}

async function stop() {
  if (starting) {
    await starting;
  }
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => start()),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (
        event.affectsConfiguration(`${SECTION}.${PATH_KEY}`) ||
        event.affectsConfiguration(`${SECTION}.profile`)
      ) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, serverPath, serverOptions };
