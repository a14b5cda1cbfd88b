#!/usr/bin/env node
// `npm run start:editor`: a real VS Code (code-server 4.100.3, in the browser) with ID Register Lens
// installed and the examples open, on 127.0.0.1. Builds, installs code-server into the cache if it is
// missing (.ci/editor/install-code-server.sh), packages and installs the extension, starts code-server
// and prints the URL. Ctrl+C stops it (and everything it started).
//
//   node scripts/start-editor.mjs [--port N] [--folder DIR] [--no-build]
//   env: IDREG_CODE_SERVER_DIR (default ~/.cache/idreg-lens/code-server-4.100.3), IDREG_EDITOR_DIR (state,
//        default ~/.cache/idreg-lens/editor), IDREG_PORT
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const VERSION = '4.100.3';
const csDir = process.env.IDREG_CODE_SERVER_DIR || join(homedir(), '.cache/idreg-lens', `code-server-${VERSION}`);
const state = process.env.IDREG_EDITOR_DIR || join(homedir(), '.cache/idreg-lens/editor');
const folder = resolve(opt('--folder') ?? join(root, 'examples'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function step(what) {
  console.log(`\n== ${what}`);
}
function run(cmd, cmdArgs, opts = {}) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`failed: ${cmd} ${cmdArgs.join(' ')}`);
    process.exit(1);
  }
}
function portFree(port) {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

if (!args.includes('--no-build')) {
  step('building the extension');
  run('npm', ['run', 'build', '--silent']);
}

const codeServer = join(csDir, 'node_modules/.bin/code-server');
if (!existsSync(codeServer) || !existsSync(join(csDir, '.complete'))) {
  step(`installing code-server ${VERSION} into ${csDir} (once; about a minute)`);
  run('sh', [join(root, '.ci/editor/install-code-server.sh'), csDir, VERSION]);
}

step('packaging and installing the extension');
mkdirSync(state, { recursive: true });
const vsix = join(state, `${pkg.name}-${pkg.version}.vsix`);
run(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--out', vsix], { stdio: ['ignore', 'ignore', 'inherit'] });
const ud = join(state, 'user-data');
const ext = join(state, 'extensions');
const env = { ...process.env, XDG_CONFIG_HOME: join(state, 'config'), XDG_DATA_HOME: join(state, 'data') };
mkdirSync(join(ud, 'User'), { recursive: true });
const settings = join(ud, 'User/settings.json');
if (!existsSync(settings)) {
  writeFileSync(
    settings,
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'workbench.enableExperiments': false,
        'editor.inlayHints.enabled': 'on',
        'git.openRepositoryInParentFolders': 'never',
      },
      null,
      2,
    ),
  );
}
const baseArgs = ['--config', join(state, 'config.yaml'), '--user-data-dir', ud, '--extensions-dir', ext];
run(codeServer, [...baseArgs, '--install-extension', vsix, '--force'], { env, stdio: ['ignore', 'ignore', 'inherit'] });

let port = Number(opt('--port') ?? process.env.IDREG_PORT ?? 8765);
const wanted = port;
while (!(await portFree(port))) port++;
if (port !== wanted) console.log(`port ${wanted} is busy; using ${port}`);

step(`starting code-server on 127.0.0.1:${port}`);
const logFile = join(state, 'code-server.log');
rmSync(logFile, { force: true });
const server = spawn(
  codeServer,
  [
    ...baseArgs,
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--disable-proxy', '--ignore-last-opened', folder,
  ],
  // Its own process group: Ctrl+C stops code-server, its file watchers and extension hosts together.
  { env, detached: true, stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] },
);
const stop = () => {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
};
process.on('SIGINT', () => {
  stop();
  process.exit(0);
});
process.on('SIGTERM', () => {
  stop();
  process.exit(0);
});
process.on('exit', stop);
server.on('exit', (code) => {
  console.error(`code-server exited (${code}); log: ${logFile}`);
  process.exit(code ?? 1);
});

const deadline = Date.now() + 30000;
for (;;) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
  } catch {
    /* not yet */
  }
  if (Date.now() > deadline) {
    console.error(`code-server did not answer on port ${port}; log: ${logFile}`);
    stop();
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}

const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`;
console.log(`
ID Register Lens ${pkg.version} is running in VS Code ${'(code-server ' + VERSION + ')'}:

    ${url}

Open it in a browser on this machine (over SSH: ssh -L ${port}:127.0.0.1:${port} …). Open
boot-4vcpu.idtrace and hover a register or a value; mistakes.idtrace shows every finding; the command
palette has "ID Register Lens: …" commands. Log: ${logFile}. Ctrl+C stops the editor.`);
