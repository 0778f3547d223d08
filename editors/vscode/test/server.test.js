'use strict';
// The client against the real server: extension.js is activated with the stubbed `vscode`
// module, and its LanguageClient stand-in spawns the server exactly as vscode-languageclient
// does for an executable over stdio (`spawn(command, args, options)`, the working directory
// defaulting to the workspace folder, `--stdio` appended when the transport says stdio), then
// speaks LSP to it: initialize with the client's initializationOptions, open a policy with an
// error, receive its diagnostic, hover, shut down.
//
// Needs GUESTLIST_BIN, the `guestlist` binary built with the `cli` feature
// (`cargo build -p guestlist-compiler --features cli` gives target/debug/guestlist).

const test = require('node:test');
const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const protocol = require('vscode-languageserver-protocol/node');
const { world, load, WORKSPACE } = require('./stubs');

const BIN = process.env.GUESTLIST_BIN;

/** A LanguageClient that starts the server as vscode-languageclient 9 does, and keeps it. */
function spawningClient(sessions) {
  return class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      this.serverOptions = serverOptions;
      this.clientOptions = clientOptions;
    }
    start() {
      const args = [...(this.serverOptions.args || [])];
      // TransportKind.stdio is 0 in vscode-languageclient.
      if (this.serverOptions.transport === 0) {
        args.push('--stdio');
      }
      const options = { ...this.serverOptions.options };
      options.cwd = options.cwd || WORKSPACE;
      const child = cp.spawn(this.serverOptions.command, args, options);
      const stderr = [];
      child.stderr.on('data', (d) => stderr.push(d));
      const connection = protocol.createProtocolConnection(
        new protocol.StreamMessageReader(child.stdout),
        new protocol.StreamMessageWriter(child.stdin),
      );
      const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      sessions.push({ child, connection, exited, stderr, clientOptions: this.clientOptions });
      connection.listen();
      return Promise.resolve();
    }
    stop() {
      return Promise.resolve();
    }
  };
}

/** `promise`, or a rejection naming `what` after 10 s. */
function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} in 10 s`)), 10_000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the first notification of `type` that `accept` takes, or rejects after 10 s. */
function next(connection, type, accept) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type.method} in 10 s`)), 10_000);
    connection.onNotification(type, (params) => {
      if (accept(params)) {
        clearTimeout(timer);
        resolve(params);
      }
    });
  });
}

test(
  'the client starts `guestlist lsp`, which publishes the diagnostic of an open policy and hovers',
  { skip: BIN ? false : 'GUESTLIST_BIN is not set', timeout: 30_000 },
  async () => {
    assert.ok(fs.existsSync(BIN), `${BIN} does not exist`);
    const w = world({ user: path.resolve(BIN), profile: 'dev' });
    const sessions = [];
    w.modules['vscode-languageclient/node'] = { LanguageClient: spawningClient(sessions) };
    const ext = load(w);
    await ext.activate({ subscriptions: [] });
    assert.deepEqual(w.errors, []);
    assert.equal(sessions.length, 1);
    const { child, connection, exited, stderr, clientOptions } = sessions[0];
    try {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guestlist-vscode-'));
      const file = path.join(dir, 'site.policy');
      const uri = pathToFileURL(file).href;
      const text = [
        'origins app { "https://app.example.com/" }',
        'cors api {',
        '    allow-origins  app',
        '    max-age        2h',
        '}',
        'route "/api/*" { cors api }',
        '',
      ].join('\n');
      fs.writeFileSync(file, text);

      const init = await within(connection.sendRequest(protocol.InitializeRequest.type, {
        processId: process.pid,
        rootUri: pathToFileURL(dir).href,
        capabilities: {
          general: { positionEncodings: ['utf-16'] },
          textDocument: {
            publishDiagnostics: { relatedInformation: true },
            hover: { contentFormat: ['markdown', 'plaintext'] },
          },
        },
        initializationOptions: clientOptions.initializationOptions,
      }), 'answer to initialize');
      assert.ok(init.capabilities.hoverProvider, JSON.stringify(init.capabilities));
      await connection.sendNotification(protocol.InitializedNotification.type, {});

      const published = next(connection, protocol.PublishDiagnosticsNotification.type, (p) => p.uri === uri);
      await connection.sendNotification(protocol.DidOpenTextDocumentNotification.type, {
        textDocument: { uri, languageId: 'policy', version: 1, text },
      });
      const { diagnostics } = await published;
      // The trailing slash: an error on line 1, at the origin.
      const slash = diagnostics.find((d) => d.range.start.line === 0 && d.severity === 1);
      assert.ok(slash, JSON.stringify(diagnostics));
      assert.match(String(slash.code), /^GL\d{4}$/);
      assert.ok(slash.range.start.character >= text.indexOf('"https'), JSON.stringify(slash.range));

      const hover = await within(connection.sendRequest(protocol.HoverRequest.type, {
        textDocument: { uri },
        position: { line: 5, character: 2 },
      }), 'answer to hover');
      // A hover on the route describes it in the profile the client sent.
      assert.match(JSON.stringify(hover.contents), /\bdev\b/, JSON.stringify(hover));

      await within(connection.sendRequest(protocol.ShutdownRequest.type), 'answer to shutdown');
      await connection.sendNotification(protocol.ExitNotification.type);
      assert.equal(await exited, 0, Buffer.concat(stderr).toString());
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      connection.dispose();
      child.kill();
    }
  },
);
