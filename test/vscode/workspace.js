// The workspace the extension tests open: a scratch copy of examples/ plus the test fixtures, so tests
// may edit and save freely. Shared by the code-server runner and the @vscode/test-electron runner.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');

function makeWorkspace(ws) {
  fs.mkdirSync(ws, { recursive: true });
  const examples = path.join(root, 'examples');
  if (fs.existsSync(examples)) fs.cpSync(examples, ws, { recursive: true });
  fs.cpSync(path.join(__dirname, 'fixtures/ws'), ws, { recursive: true });
  return ws;
}

module.exports = { makeWorkspace };
