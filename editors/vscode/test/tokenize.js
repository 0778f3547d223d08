'use strict';
// Loads the policy grammar into vscode-textmate (with VS Code's regex engine, oniguruma) and
// tokenizes text line by line, as the editor does.

const fs = require('node:fs');
const path = require('node:path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const GRAMMAR = path.join(__dirname, '..', 'syntaxes', 'policy.tmLanguage.json');
const SCOPE = 'source.guestlist-policy';

let loaded;

/** The grammar of `source.guestlist-policy` (loaded once). */
function loadPolicyGrammar() {
  if (!loaded) {
    loaded = (async () => {
      const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
      await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
      const registry = new vsctm.Registry({
        onigLib: Promise.resolve({
          createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
          createOnigString: (s) => new oniguruma.OnigString(s),
        }),
        loadGrammar: async (scope) =>
          scope === SCOPE ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR) : null,
      });
      return registry.loadGrammar(SCOPE);
    })();
  }
  return loaded;
}

/** The tokens of each line of `text` (`{ startIndex, endIndex, scopes }`). */
function tokenize(grammar, text) {
  let stack = vsctm.INITIAL;
  return text.split(/\r?\n/).map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens;
  });
}

module.exports = { loadPolicyGrammar, tokenize };
