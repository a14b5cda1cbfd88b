// A minimal LSP client over stdio (Content-Length framing, JSON-RPC 2.0), written for the benchmark so
// that no client library's overhead or batching hides the server's latency. It answers the requests a
// server commonly sends (workspace/configuration, client/registerCapability, progress creation) and
// records every notification with its arrival time.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Message {
  jsonrpc: '2.0';
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

interface Waiter {
  method: string;
  pred: (params: any) => boolean;
  resolve: (v: { params: any; at: number }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class LspClient {
  readonly proc: ChildProcessWithoutNullStreams;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private waiters: Waiter[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;
  stderr = '';
  exited: { code: number | null; signal: string | null } | undefined;
  /** Settings returned for every workspace/configuration item. */
  configuration: unknown = null;
  /** Counts of notifications by method. */
  readonly seen = new Map<string, number>();
  onNotification: ((m: Message, at: number) => void) | undefined;

  constructor(command: string, args: string[], cwd: string) {
    this.proc = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d: Buffer) => this.onData(d));
    this.proc.stderr.on('data', (d: Buffer) => {
      if (this.stderr.length < 20000) this.stderr += d.toString('utf8');
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = { code, signal };
      const err = new Error(`server exited (code ${code}, signal ${signal}): ${this.stderr.slice(-500)}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      this.waiters = [];
    });
    this.proc.stdin.on('error', () => {
      // EPIPE after the server died; the exit handler reports it.
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    for (;;) {
      if (this.expected < 0) {
        const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
        this.chunks = [buf];
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const header = buf.toString('ascii', 0, end);
        const m = /Content-Length:\s*(\d+)/i.exec(header);
        if (!m) throw new Error(`bad LSP header: ${header}`);
        this.expected = Number(m[1]);
        const rest = buf.subarray(end + 4);
        this.chunks = rest.length ? [rest] : [];
        this.buffered = rest.length;
      }
      if (this.buffered < this.expected) return;
      const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      const body = buf.toString('utf8', 0, this.expected);
      const rest = buf.subarray(this.expected);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      this.expected = -1;
      this.dispatch(JSON.parse(body) as Message, performance.now());
    }
  }

  private dispatch(m: Message, at: number): void {
    if (m.method !== undefined && m.id !== undefined && m.id !== null) {
      this.answerServerRequest(m);
      return;
    }
    if (m.method !== undefined) {
      this.seen.set(m.method, (this.seen.get(m.method) ?? 0) + 1);
      this.onNotification?.(m, at);
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (w.method === m.method && w.pred(m.params)) {
          clearTimeout(w.timer);
          w.resolve({ params: m.params, at });
        } else {
          still.push(w);
        }
      }
      this.waiters = still;
      return;
    }
    if (typeof m.id === 'number') {
      const p = this.pending.get(m.id);
      if (p) {
        this.pending.delete(m.id);
        p.resolve(m);
      }
    }
  }

  private answerServerRequest(m: Message): void {
    let result: unknown = null;
    if (m.method === 'workspace/configuration') {
      const items = (m.params as { items?: unknown[] } | undefined)?.items ?? [];
      result = items.map(() => this.configuration);
    } else if (m.method === 'workspace/workspaceFolders') {
      result = null;
    }
    this.write({ jsonrpc: '2.0', id: m.id ?? null, result });
  }

  write(m: Message): void {
    const body = JSON.stringify(m);
    this.proc.stdin.write(`Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n`);
    this.proc.stdin.write(body);
  }

  request(method: string, params: unknown, timeoutMs = 60_000): Promise<Message> {
    const id = this.nextId++;
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (msg) => {
          clearTimeout(timer);
          resolve(msg);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.write({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    this.write({ jsonrpc: '2.0', method, params });
  }

  /** Resolves with the first notification `method` (registered before the triggering message is sent). */
  waitFor(method: string, pred: (params: any) => boolean, timeoutMs: number): Promise<{ params: any; at: number }> {
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(new Error(`server exited: ${this.stderr.slice(-500)}`));
        return;
      }
      const w: Waiter = {
        method, pred, resolve, reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`no ${method} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Peak resident set size of the server process (VmHWM), in KiB. */
  peakRssKiB(): number | undefined {
    try {
      const m = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  async shutdown(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((res) => this.proc.once('exit', () => res()));
    try {
      await this.request('shutdown', null, 5000);
      this.notify('exit', null);
    } catch {
      // fall through to the kill below
    }
    const t = setTimeout(() => {
      if (!this.exited) this.proc.kill('SIGKILL');
    }, 3000);
    await gone;
    clearTimeout(t);
  }
}
