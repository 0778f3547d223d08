'use strict';
// The grammar on the project's own valid policies (examples/, spec/policies/): no token is
// marked invalid, and every word, string and punctuation mark gets a scope of its own (not
// only the block's `meta.*`), so a setting or value added to the language and used in an
// example shows up here until the grammar knows it.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadPolicyGrammar, tokenize } = require('./tokenize');

const ROOT = path.join(__dirname, '..');
const REPO = path.join(ROOT, '..', '..');

/** The valid policies of the repository (the diagnostics cases are errors on purpose). */
function policies() {
  const files = [];
  const add = (dir) => {
    for (const entry of fs.readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        add(rel);
      } else if (entry.name.endsWith('.policy')) {
        files.push(rel);
      }
    }
  };
  add('examples');
  add(path.join('spec', 'policies'));
  return files.sort();
}

test('the project\'s valid policies highlight fully, with no invalid token', async () => {
  const g = await loadPolicyGrammar();
  const files = policies();
  assert.ok(files.length >= 6, files.join(' '));
  const problems = [];
  let tokens = 0;
  for (const file of files) {
    const text = fs.readFileSync(path.join(REPO, file), 'utf8');
    const lines = text.split(/\r?\n/);
    tokenize(g, text).forEach((lineTokens, i) => {
      for (const t of lineTokens) {
        const word = lines[i].slice(t.startIndex, t.endIndex);
        if (word.trim() === '') {
          continue;
        }
        tokens += 1;
        const own = t.scopes.filter((s) => s !== 'source.guestlist-policy' && !s.startsWith('meta.'));
        const at = `${file}:${i + 1}:${t.startIndex + 1} ${JSON.stringify(word)}`;
        if (own.length === 0) {
          problems.push(`${at}: no scope of its own (${t.scopes.join(' ')})`);
        } else if (own.some((s) => s.startsWith('invalid.'))) {
          problems.push(`${at}: ${own.join(' ')}`);
        }
      }
    });
  }
  assert.ok(tokens > 1000, `${tokens} tokens`);
  assert.deepEqual(problems, []);
});
