// Bundles the CLI, the language server and the VS Code client with esbuild.
// Type-checking is a separate step (`npm run typecheck`), because esbuild does not type-check.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
};

const builds = [
  { ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js' },
  { ...common, entryPoints: ['server/main.ts'], outfile: 'dist/server.js' },
  { ...common, entryPoints: ['server/lsp-entry.ts'], outfile: 'dist/lsp.js' },
  { ...common, entryPoints: ['client/extension.ts'], outfile: 'dist/client.js', external: ['vscode'] },
];

import { existsSync } from 'node:fs';
for (const b of builds) {
  if (!existsSync(b.entryPoints[0])) continue;
  if (watch) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  } else {
    await esbuild.build(b);
  }
}
