// Entry of dist/server.js, which the VS Code extension starts over IPC (--node-ipc); `--stdio` and
// `--socket=N` work too, because createConnection reads the transport from the command line.
// The same bundle is the disk-check worker: started as a worker thread, it runs one check and exits.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { diskCheckWorkerMain, isDiskCheckWorker } from './disk-check.ts';
import { startServer } from './server.ts';

if (isDiskCheckWorker()) {
  diskCheckWorkerMain();
} else {
  const connection = createConnection(ProposedFeatures.all);
  // A bug in one handler is answered as an error by that handler (server.ts guard); anything that escapes
  // (a timer callback) is logged here instead of taking the server down.
  process.on('uncaughtException', (err) => connection.console.error(`uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => connection.console.error(`unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
  // In the bundle, __filename is dist/server.js: disk checks run in a worker thread of this same file.
  startServer(connection, { workerScript: __filename });
  connection.listen();
}
