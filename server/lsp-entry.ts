// `idreg lsp --stdio`: the same server for any LSP editor (Neovim, Helix, Emacs …), over stdin/stdout.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { diskCheckWorkerMain, isDiskCheckWorker } from './disk-check.ts';
import { startServer } from './server.ts';

// This bundle (dist/lsp.js) is also the disk-check worker of the server it starts (see below).
if (isDiskCheckWorker()) diskCheckWorkerMain();

const USAGE = 'usage: idreg lsp --stdio\n';

/** Runs the server until the client says exit (or stdin closes); resolves with the exit code. */
export async function runLsp(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = args.filter((a) => a !== '--stdio');
  if (!args.includes('--stdio') || unknown.length > 0) {
    process.stderr.write(`idreg lsp: ${unknown.length ? `unknown option ${unknown[0]}` : 'only --stdio is supported'}\n${USAGE}`);
    return 2;
  }
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  // stdout is the protocol channel: anything else printed there would corrupt it.
  console.log = (...a: unknown[]) => connection.console.log(a.map(String).join(' '));
  process.on('uncaughtException', (err) => connection.console.error(`uncaught: ${err.stack ?? err.message}`));
  return new Promise<number>((resolveExit) => {
    let shutdown = false;
    connection.onShutdown(() => {
      shutdown = true;
    });
    // vscode-languageserver exits the process itself on `exit`; this covers a closed pipe.
    connection.onExit(() => resolveExit(shutdown ? 0 : 1));
    process.stdin.on('close', () => resolveExit(shutdown ? 0 : 1));
    // Bundled (dist/lsp.js), disk checks run in a worker thread of this same file; from sources, in-process.
    startServer(connection, __filename.endsWith('.js') ? { workerScript: __filename } : {});
    connection.listen();
  });
}
