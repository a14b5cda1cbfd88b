// `npm start`: the product on the bundled examples. First the CLI check (what CI would print), then a
// real VS Code in the browser (code-server on 127.0.0.1) with the extension and the examples open.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

if (run('npm', ['run', 'build', '--silent']) !== 0) process.exit(1);

console.log('\n$ idreg check examples/boot-4vcpu.idtrace examples/mistakes.idtrace');
run(process.execPath, ['bin/idreg.js', 'check', 'examples/boot-4vcpu.idtrace', 'examples/mistakes.idtrace']);
console.log('\n$ idreg decode ID_AA64PFR0_EL1 0x1101001021111111');
run(process.execPath, ['bin/idreg.js', 'decode', 'ID_AA64PFR0_EL1', '0x1101001021111111']);

if (process.argv.includes('--cli-only')) process.exit(0);
const editor = join(root, 'scripts', 'start-editor.mjs');
if (!existsSync(editor)) {
  console.error('scripts/start-editor.mjs is missing: the editor cannot be started');
  process.exit(1);
}
process.exit(run(process.execPath, [editor, ...process.argv.slice(2)]));
