#!/usr/bin/env node
// Runs test/nvim/lsp-smoke.lua in headless Neovim against `node bin/idreg.js lsp --stdio`
// (bin/idreg.js needs dist/cli.js: `npm run build`). Neovim writes its lsp.log under XDG_CACHE_HOME /
// XDG_STATE_HOME, so both point at a scratch folder, removed afterwards.
import { spawnSync, execSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const started = Date.now();
try {
  execSync('command -v nvim', { shell: '/bin/sh', stdio: 'ignore' });
} catch {
  console.error('nvim not found: apt-get install -y neovim');
  process.exit(1);
}
// `idreg lsp --stdio` is the command other editors use; fall back to the bundled server only if the CLI
// does not have the lsp command (then the test says so, and fails unless IDREG_NVIM_ALLOW_FALLBACK=1).
let cmd = `node ${join(root, 'bin/idreg.js')} lsp --stdio`;
const probe = spawnSync('node', [join(root, 'bin/idreg.js'), 'lsp', '--help'], { encoding: 'utf8' });
if (probe.status !== 0) {
  const msg = `bin/idreg.js has no working 'lsp' command (exit ${probe.status}: ${(probe.stderr || '').trim().split('\n')[0]})`;
  if (process.env.IDREG_NVIM_ALLOW_FALLBACK !== '1') {
    console.error(`${msg}; set IDREG_NVIM_ALLOW_FALLBACK=1 to test dist/server.js --stdio instead`);
    process.exit(1);
  }
  console.warn(`${msg}: testing node dist/server.js --stdio instead`);
  cmd = `node ${join(root, 'dist/server.js')} --stdio`;
}
const scratch = mkdtempSync(join(tmpdir(), 'idreg-nvim-'));
let status = 1;
try {
  cpSync(join(root, 'test/vscode/fixtures/ws'), join(scratch, 'ws'), { recursive: true });
  const r = spawnSync('nvim', ['--headless', '--clean', '-n', '-c', `luafile ${join(root, 'test/nvim/lsp-smoke.lua')}`], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 120000,
    env: {
      ...process.env,
      XDG_CACHE_HOME: join(scratch, 'cache'),
      XDG_STATE_HOME: join(scratch, 'state'),
      XDG_CONFIG_HOME: join(scratch, 'config'),
      XDG_DATA_HOME: join(scratch, 'data'),
      IDREG_LSP_CMD: cmd,
      IDREG_NVIM_FILE: join(scratch, 'ws/vm.idtrace'),
    },
  });
  status = r.status ?? 1;
  if (r.error) console.error(r.error.message);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`nvim lsp smoke test ${status === 0 ? 'passed' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(status);
