#!/usr/bin/env node
// The same mocha suite as .ci/editor/run-vscode-tests.js, in desktop VS Code through @vscode/test-electron
// (`npm run test:electron`). It downloads VS Code from update.code.visualstudio.com, so it works only
// where that is reachable (not on the offline CI machine, which uses code-server instead).
//   env: VSCODE_VERSIONS  comma-separated versions to test (default "1.100.3,stable": the minimum
//                         engines.vscode and the newest)
//        VSCODE_EXECUTABLE  a local desktop VS Code to use instead of downloading
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runTests } = require('@vscode/test-electron');
const { makeWorkspace } = require('./workspace.js');

const root = path.resolve(__dirname, '../..');

async function main() {
  const versions = (process.env.VSCODE_VERSIONS || '1.100.3,stable').split(',').map((v) => v.trim()).filter(Boolean);
  let failed = 0;
  for (const version of process.env.VSCODE_EXECUTABLE ? ['local'] : versions) {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'idreg-electron-'));
    const ws = makeWorkspace(path.join(scratch, 'ws'));
    const userData = path.join(scratch, 'user-data');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(userData, 'User/settings.json'),
      JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'update.mode': 'none', 'git.openRepositoryInParentFolders': 'never' }),
    );
    try {
      console.log(`== VS Code ${version}`);
      await runTests({
        ...(process.env.VSCODE_EXECUTABLE ? { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE } : { version }),
        extensionDevelopmentPath: root,
        extensionTestsPath: path.join(__dirname, 'suite/index.js'),
        extensionTestsEnv: { IDREG_TEST_WORKSPACE: ws },
        launchArgs: [ws, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes', `--user-data-dir=${userData}`],
      });
    } catch (err) {
      failed++;
      console.error(`VS Code ${version}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
