#!/usr/bin/env node
// Runs the extension's mocha suite inside a real VS Code extension host (code-server 4.100.3 = VS Code
// 1.100.3, Node extension host), driven by Debian's headless Chromium through playwright-core; then a UI
// step that opens a trace, hovers a value and checks (and photographs) the hover's field table.
// Recipe and pitfalls: shared/docs/real-editor-testing.md.
//
// env: CODE_SERVER   code-server binary (default: the install script's cache folder)
//      CHROMIUM      chromium binary (default: `command -v chromium`)
//      TESTS         mocha entry (default test/vscode/suite/index.js)
//      IDREG_UI=0    skip the UI step;  IDREG_SUITE=0 skip the mocha suite
//      IDREG_SCREENSHOT  where the UI step writes its screenshot (default test-results/screenshot-hover.png)
//      TEST_TIMEOUT_MS   whole-suite timeout (default 300000)
//      KEEP_SCRATCH=1    keep the scratch folder (logs, workspace) for debugging
'use strict';
const { spawn, execSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');
const { makeWorkspace } = require('../../test/vscode/workspace.js');

const root = path.resolve(__dirname, '../..');
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

function defaultCodeServer() {
  const dir = process.env.IDREG_CODE_SERVER_DIR || path.join(os.homedir(), '.cache/idreg-lens/code-server-4.100.3');
  return path.join(dir, 'node_modules/.bin/code-server');
}

/** A free TCP port for this run: an old code-server on a fixed port would silently answer instead (recipe pitfall). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (never a fixed sleep for a condition). */
async function poll(fn, { timeoutMs, intervalMs = 100, what }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function launchBrowser(chromium) {
  const executablePath = process.env.CHROMIUM || execSync('command -v chromium || command -v chromium-browser', { shell: '/bin/sh' }).toString().trim();
  return chromium.launch({
    headless: true,
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function runSuite(browser, host, ws, tests) {
  const page = await browser.newPage();
  let passed = 0;
  let failed = 0;
  let done;
  const exited = new Promise((r) => (done = r));
  // Both must exist before the workbench loads: it calls them when the tests log and when run() settles.
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const line = util.format(...(args || []));
    console.log(line);
    let m;
    if ((m = /^\s*(\d+) passing/.exec(line))) passed = +m[1];
    if ((m = /^\s*(\d+) failing/.exec(line))) failed = +m[1];
  });
  await page.exposeFunction('codeAutomationExit', (c) => done(c));
  const remote = (p) => `vscode-remote://${host}${p}`;
  const payload = [
    ['extensionDevelopmentPath', remote(root)],
    ['extensionTestsPath', remote(tests)],
  ];
  await page.goto(`http://${host}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  const code = await Promise.race([exited, sleep(Number(process.env.TEST_TIMEOUT_MS || 300000)).then(() => 'timeout')]);
  await page.close().catch(() => {});
  if (code !== 0 && failed === 0) failed = 1;
  return { code, passed, failed };
}

/** Opens a trace in the workbench, hovers a written value, checks the field table and takes the screenshot. */
async function runUi(browser, host, ws, shot) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const remote = (p) => `vscode-remote://${host}${p}`;
  const payload = [['extensionDevelopmentPath', remote(root)]];
  // The README's screenshot: an accepted template write in the boot example (the hover opens with the
  // field table, not with a problem), else any write of the fixture trace.
  const file = fs.existsSync(path.join(ws, 'boot-4vcpu.idtrace')) ? 'boot-4vcpu.idtrace' : 'vm.idtrace';
  const text = fs.readFileSync(path.join(ws, file), 'utf8').split('\n');
  let lineNo = text.findIndex((l) => /^\s*vcpu\s+\d+\s+set\s+ID_AA64PFR0_EL1\s+0x[0-9a-fA-F_]+\s*=\s*0\b/.test(l));
  if (lineNo < 0) lineNo = text.findIndex((l) => /^\s*vcpu\s+\d+\s+set\s+\S+\s+0x/.test(l));
  const value = /set\s+\S+\s+(0x[0-9a-fA-F_]+)/.exec(text[lineNo])[1];
  await page.goto(`http://${host}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  // Quick Open the file.
  await poll(async () => {
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input', { timeout: 2000 });
    return true;
  }, { timeoutMs: 30000, intervalMs: 500, what: 'quick open' });
  await page.keyboard.type(file);
  await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${file}"]`, { timeout: 20000 });
  await page.keyboard.press('Enter');
  await page.waitForSelector(`.monaco-editor .view-lines:has-text("${value}")`, { timeout: 20000 });
  // The language mode in the status bar shows the grammar's language, and the server's diagnostics arrive.
  await poll(async () => /ID Register Trace/.test(await page.textContent('#status\\.editor\\.mode')), { timeoutMs: 20000, what: 'language mode' });
  await poll(async () => (await page.$$('.squiggly-error')).length > 0, { timeoutMs: 30000, what: 'error squiggles' });
  // Scroll the line to the top and hover the value.
  // Scroll so that the line is near the top: the hover opens below it, with room for the field table.
  // (Ctrl+Down scrolls the editor by one line without moving the cursor.)
  await page.locator('.editor-instance .view-lines').first().click({ position: { x: 5, y: 5 } });
  for (let i = 0; i < Math.max(0, lineNo - 3); i++) await page.keyboard.press('Control+ArrowDown');
  const span = page.locator('.editor-instance .view-lines .view-line span span', { hasText: value }).first();
  const hoverText = await poll(async () => {
    const box = await span.boundingBox();
    if (!box) return false;
    const x = box.x + Math.min(box.width / 2, 60);
    const y = box.y + box.height / 2;
    await page.mouse.move(x - 20, y + 40);
    await page.mouse.move(x, y, { steps: 4 });
    const table = page.locator('.monaco-hover table:visible').first();
    if (!(await table.waitFor({ timeout: 4000 }).then(() => true, () => false))) return false;
    return page.locator('.monaco-hover:visible').first().textContent();
  }, { timeoutMs: 45000, intervalMs: 300, what: 'the hover with a field table' });
  const ok = /field/.test(hoverText) && /host limit/.test(hoverText) && /bits/.test(hoverText);
  // Make the hover taller (it is resizable: drag its bottom edge), so the photograph shows more fields.
  const hoverBox = await page.locator('.monaco-hover:visible').first().boundingBox();
  const sash = page.locator('.monaco-resizable-hover .monaco-sash.horizontal:visible').last();
  const sashBox = await sash.boundingBox().catch(() => null);
  if (hoverBox && sashBox && sashBox.y > hoverBox.y + hoverBox.height / 2) {
    const x = sashBox.x + sashBox.width / 2;
    const y = sashBox.y + sashBox.height / 2;
    await page.mouse.move(x, y, { steps: 3 });
    await page.mouse.down();
    await page.mouse.move(x, y + 260, { steps: 8 });
    await page.mouse.up();
    await page.mouse.move(x, y + 100, { steps: 3 }); // off the sash (its highlight), still on the hover
  }
  // Wait for the hover's fade-in to finish before the photograph.
  await poll(
    () => page.locator('.monaco-hover:visible').first().evaluate((el) => {
      for (let e = el; e; e = e.parentElement) if (Number(getComputedStyle(e).opacity) < 1) return false;
      return true;
    }),
    { timeoutMs: 5000, what: 'the hover to be opaque' },
  );
  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot });
  // The register table view (a webview in nested iframes) shows the VM's registers.
  await page.mouse.move(10, 400);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+Shift+P');
  await page.keyboard.type('ID Register Lens: Show Register Table');
  await page.waitForSelector('.quick-input-list .monaco-list-row[aria-label*="Show Register Table"]', { timeout: 10000 });
  await page.keyboard.press('Enter');
  const tableOk = await poll(async () => {
    for (const f of page.frames()) {
      const t = await f.locator('table').first().textContent({ timeout: 200 }).catch(() => null);
      if (t && /ID_AA64PFR0_EL1/.test(t) && /host limit/.test(await f.locator('thead').first().textContent({ timeout: 200 }))) return true;
    }
    return false;
  }, { timeoutMs: 20000, intervalMs: 250, what: 'the register table webview' }).catch(() => false);
  await page.screenshot({ path: path.resolve(root, 'test-results/register-table.png') });
  await page.close().catch(() => {});
  return { ok: ok && tableOk, tableOk, hoverText: hoverText.replace(/\s+/g, ' ').slice(0, 300), file, lineNo };
}

(async () => {
  const codeServer = process.env.CODE_SERVER || defaultCodeServer();
  if (!fs.existsSync(codeServer)) {
    console.error(`code-server not found at ${codeServer}: run .ci/editor/install-code-server.sh first (or set CODE_SERVER)`);
    process.exit(1);
  }
  if (!fs.existsSync(path.join(root, 'dist/client.js'))) {
    console.error('dist/client.js is missing: run `npm run build` first');
    process.exit(1);
  }
  const { chromium } = require('playwright-core');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'idreg-vscode-it-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const tests = path.resolve(root, process.env.TESTS || 'test/vscode/suite/index.js');
  const ws = makeWorkspace(path.join(scratch, 'ws'));
  fs.mkdirSync(path.join(scratch, 'ud/User'), { recursive: true });
  fs.writeFileSync(
    path.join(scratch, 'ud/User/settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      'workbench.enableExperiments': false,
      'workbench.tips.enabled': false,
      'editor.hover.delay': 150,
      'editor.hover.above': false,
      'editor.minimap.enabled': false,
      'editor.stickyScroll.enabled': false,
      'editor.inlayHints.enabled': 'on',
      'window.commandCenter': false,
      'chat.commandCenter.enabled': false,
      'git.openRepositoryInParentFolders': 'never',
      'workbench.editorLargeFileConfirmation': 1024,
    }),
  );
  fs.mkdirSync(path.join(scratch, 'tmp'));
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(scratch, 'cfg'),
    XDG_DATA_HOME: path.join(scratch, 'data'),
    TMPDIR: path.join(scratch, 'tmp'), // VS Code leaves sockets and caches in TMPDIR otherwise
    IDREG_TEST_WORKSPACE: ws,
  };
  const logPath = path.join(scratch, 'server.log');
  const server = spawn(
    codeServer,
    [
      '--config', path.join(scratch, 'config.yaml'), '--auth', 'none', '--bind-addr', host,
      '--user-data-dir', path.join(scratch, 'ud'), '--extensions-dir', path.join(scratch, 'ext'),
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
      '--disable-proxy', '--ignore-last-opened',
    ],
    { env, detached: true, stdio: ['ignore', fs.openSync(logPath, 'w'), fs.openSync(logPath, 'a')] },
  );
  let exitCode = 1;
  let browser;
  const summary = [];
  const totals = { passed: 0, failed: 0 };
  try {
    await poll(async () => (await fetch(`http://${host}/healthz`)).ok, { timeoutMs: 30000, what: 'code-server /healthz' });
    const log = fs.readFileSync(logPath, 'utf8');
    if (/EADDRINUSE/.test(log)) throw new Error(`port ${port} is in use`);
    console.log(`code-server ready on ${host} (${elapsed()})`);
    browser = await launchBrowser(chromium);
    let failed = false;
    if (process.env.IDREG_SUITE !== '0') {
      const r = await runSuite(browser, host, ws, tests);
      totals.passed += r.passed;
      totals.failed += r.failed + (r.code !== 0 && r.failed === 0 ? 1 : 0);
      summary.push(`suite: ${r.passed} passed, ${r.failed} failed (exit ${r.code}, ${elapsed()})`);
      if (r.code !== 0) failed = true;
    }
    if (process.env.IDREG_UI !== '0') {
      const shot = path.resolve(root, process.env.IDREG_SCREENSHOT || 'test-results/screenshot-hover.png');
      try {
        // A clean copy of the examples only: the screenshot shows what a user sees.
        const uiWs = path.join(scratch, 'ui', 'examples');
        if (fs.existsSync(path.join(root, 'examples'))) fs.cpSync(path.join(root, 'examples'), uiWs, { recursive: true });
        else makeWorkspace(uiWs);
        const r = await runUi(browser, host, uiWs, shot);
        summary.push(`ui: hover on ${r.file}:${r.lineNo + 1} ${/field/.test(r.hoverText) ? 'shows' : 'does NOT show'} the field table; screenshot ${path.relative(root, shot)}; register table view ${r.tableOk ? 'shows' : 'does NOT show'} the registers (${elapsed()})`);
        if (!r.ok) {
          console.log(`hover text: ${r.hoverText}`);
          failed = true;
          totals.failed++;
        } else totals.passed++;
      } catch (err) {
        const pages = browser.contexts().flatMap((c) => c.pages());
        const failShot = path.resolve(root, 'test-results/ui-failure.png');
        fs.mkdirSync(path.dirname(failShot), { recursive: true });
        if (pages.length) await pages[pages.length - 1].screenshot({ path: failShot }).catch(() => {});
        summary.push(`ui: FAILED: ${err.message} (screenshot of the failure: ${path.relative(root, failShot)})`);
        failed = true;
        totals.failed++;
      }
    }
    exitCode = failed ? 1 : 0;
  } catch (err) {
    console.error(err);
    exitCode = 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    // Kill the whole process group: code-server leaves file watchers and extension hosts behind otherwise.
    try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
    await poll(() => { try { process.kill(-server.pid, 0); return false; } catch { return true; } }, { timeoutMs: 5000, what: 'code-server exit' }).catch(() => {
      try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
    });
    if (exitCode !== 0) {
      console.log('--- code-server log (tail) ---');
      console.log(fs.readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n'));
    }
    if (process.env.KEEP_SCRATCH === '1') console.log(`scratch kept: ${scratch}`);
    else fs.rmSync(scratch, { recursive: true, force: true });
  }
  for (const s of summary) console.log(s);
  console.log(exitCode === 0 ? `vscode tests passed (${elapsed()})` : `vscode tests FAILED (${elapsed()})`);
  // The closing line CI reads: the mocha suite in the extension host plus the UI step.
  console.log(`${totals.passed} passed, ${totals.failed} failed`);
  process.exit(exitCode);
})();
