// A CliIO that captures stdout and stderr, for running CLI commands in-process in tests.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliIO } from '../../src/cli/io.ts';

export type CapturedIO = CliIO & { out: string; err: string };

export function captureIO(cwd = '/'): CapturedIO {
  const io: CapturedIO = {
    out: '',
    err: '',
    stdout(t: string) {
      io.out += t;
    },
    stderr(t: string) {
      io.err += t;
    },
    readFile: (p: string) => readFileSync(resolve(cwd, p)),
    cwd,
    isTTY: false,
  };
  return io;
}
