// "Check file on disk": files VS Code never syncs (over 50 MB) are read and checked by the server itself.
// The check runs in a worker thread when one is available, so the server keeps answering (hovers on
// other files) while a 100 MB trace is checked, and a cancelled request really stops the work
// (worker.terminate()). Only what the editor needs comes back: findings, counts and the register table.
import { readFileSync, statSync } from 'node:fs';
import { decodeText } from '../src/text.ts';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Finding } from '../src/findings.ts';
import { checkDocument, checkStreamed, openBlockFile, type FileReport } from './core.ts';
import { buildRegisterTable } from './features/table.ts';
import type { RegisterTable } from './protocol.ts';

export interface DiskCheckJob {
  uri: string;
  path: string;
  host?: string;
  kernel?: string;
  workspaceRoot?: string;
}

export type DiskCheckMessage =
  | { kind: 'progress'; percentage: number; message: string }
  | { kind: 'done'; result: DiskCheckResult }
  | { kind: 'failed'; error: string };

export interface DiskCheckResult {
  format: string;
  findings: Finding[];
  lines: number;
  bytes: number;
  table: RegisterTable;
  truncated?: number;
}

const MAX_FINDINGS = 200000;

/** Reads and checks a file; the same code in a worker and in-process. Throws only on an unreadable file. */
export function runDiskCheck(job: DiskCheckJob, progress: (percentage: number, message: string) => void = () => {}): DiskCheckResult {
  const bytes = statSync(job.path).size;
  const options = {
    ...(job.host ? { host: job.host } : {}),
    ...(job.kernel ? { kernel: job.kernel } : {}),
    ...(job.workspaceRoot ? { workspaceRoot: job.workspaceRoot } : {}),
    maxFindings: MAX_FINDINGS,
  };
  progress(5, `reading ${(bytes / 1048576).toFixed(1)} MB`);
  // Read in blocks when the format allows it (the text is never held whole); the share read is the progress.
  // An .idtrace is replayed as it is read and its events dropped (1M events read whole peaked at 756 MB).
  const file = openBlockFile(job.path);
  let shown = 5;
  const onRead = (done: number): void => {
    const pct = 5 + Math.floor((85 * done) / Math.max(1, bytes));
    if (pct >= shown + 5) progress((shown = pct), 'parsing');
  };
  let report: FileReport | undefined;
  try {
    report = checkStreamed(job.path, file, options, { onRead });
  } finally {
    file.close();
  }
  if (!report) {
    const text = decodeText(readFileSync(job.path));
    progress(25, 'parsing and replaying');
    report = checkDocument({ path: job.path, text }, options);
  }
  progress(90, 'publishing');
  return {
    format: report.format,
    findings: report.findings,
    lines: report.stats.lines,
    bytes,
    table: buildRegisterTable(job.uri, report),
    ...(report.truncated ? { truncated: report.truncated } : {}),
  };
}

/** True when this thread was started as a disk-check worker (then it must not start a server). */
export function isDiskCheckWorker(): boolean {
  return !isMainThread && (workerData as { idregLensDiskCheck?: unknown } | null)?.idregLensDiskCheck !== undefined;
}

/** The worker side: run the one job from workerData and post the result. */
export function diskCheckWorkerMain(): void {
  const job = (workerData as { idregLensDiskCheck: DiskCheckJob }).idregLensDiskCheck;
  const post = (m: DiskCheckMessage) => parentPort!.postMessage(m);
  try {
    const result = runDiskCheck(job, (percentage, message) => post({ kind: 'progress', percentage, message }));
    post({ kind: 'done', result });
  } catch (err) {
    post({ kind: 'failed', error: err instanceof Error ? err.message : String(err) });
  }
}

export interface RunningCheck {
  result: Promise<DiskCheckResult>;
  cancel(): void;
}

/**
 * Starts a disk check in a worker running `script` (the server bundle itself: its entry sees
 * isDiskCheckWorker() and runs the job instead of a server).
 */
export function startDiskCheckWorker(script: string, job: DiskCheckJob, onProgress: (percentage: number, message: string) => void): RunningCheck {
  const worker = new Worker(script, { workerData: { idregLensDiskCheck: job }, stdout: true, stderr: true });
  let settled = false;
  const result = new Promise<DiskCheckResult>((resolve, reject) => {
    worker.on('message', (m: DiskCheckMessage) => {
      if (m.kind === 'progress') onProgress(m.percentage, m.message);
      else if (m.kind === 'done') {
        settled = true;
        resolve(m.result);
        void worker.terminate();
      } else {
        settled = true;
        reject(new Error(m.error));
        void worker.terminate();
      }
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(code === 1 ? 'cancelled' : `the check worker exited (${code})`));
    });
  });
  return {
    result,
    cancel: () => {
      if (!settled) void worker.terminate();
    },
  };
}
