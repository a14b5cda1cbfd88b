// `npm run fuzz` — the properties of test/fuzz/props for a long time with a random seed.
//
//   node --import tsx test/fuzz/run.ts [--cases N] [--seconds S] [--seed N] [--only REGEX] [--jobs J]
//                                      [--chunk N] [--slow MS] [--no-save] [--strict] [--list]
//
// Cases are shared among the properties by weight (their normal-run case counts); the run stops at N cases
// or S seconds, whichever comes first (default 1,000,000 cases, no time limit). Every failure is shrunk by
// fast-check and saved as test/fuzz/failures/<property>--<seed>.json (replayed by
// test/unit/property-failures.test.ts). Failures explained by an open known issue (test/fuzz/known.ts) are
// counted, not saved, unless --strict. With --jobs J the work runs in J child processes (seeds seed+k),
// watched: a child that prints nothing for 120 s is killed and the chunk it was running is reported as a
// hang (property, seed and size reproduce it). The summary lists the cases run per property.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { describeFailure, runProperty, type RunOutcome } from './harness.ts';
import { knownIssueHits } from './known.ts';
import { saveFailure } from './failures.ts';
import { loadAllGroups } from './registry.ts';
import type { PropertyDef } from './props/types.ts';

interface Options {
  cases: number;
  seconds: number;
  seed: number;
  only?: RegExp;
  jobs: number;
  chunk: number;
  slowMs: number;
  save: boolean;
  strict: boolean;
  list: boolean;
  /** Internal: this process is child k of n (prints JSON lines for the parent). */
  worker?: { k: number; n: number };
}

function parseOptions(argv: string[]): Options {
  const o: Options = { cases: 1_000_000, seconds: Infinity, seed: Math.floor(Math.random() * 0x7fffffff), jobs: 1, chunk: 2000, slowMs: 5000, save: true, strict: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--cases') o.cases = Number(next());
    else if (a === '--seconds') o.seconds = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--only') o.only = new RegExp(next());
    else if (a === '--jobs') o.jobs = Math.max(1, Number(next()));
    else if (a === '--chunk') o.chunk = Math.max(1, Number(next()));
    else if (a === '--slow') o.slowMs = Number(next());
    else if (a === '--no-save') o.save = false;
    else if (a === '--strict') o.strict = true;
    else if (a === '--list') o.list = true;
    else if (a === '--worker') {
      const [k, n] = next().split('/').map(Number);
      o.worker = { k: k!, n: n! };
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: node --import tsx test/fuzz/run.ts [--cases N] [--seconds S] [--seed N] [--only REGEX] [--jobs J] [--chunk N] [--slow MS] [--no-save] [--strict] [--list]\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isFinite(o.cases) || o.cases <= 0) throw new Error('--cases must be a positive number');
  return o;
}

interface Stat {
  name: string;
  cases: number;
  ms: number;
  failures: number;
  saved: string[];
}

interface Summary {
  seed: number;
  stats: Stat[];
  known: [string, number][];
  hangs: string[];
  elapsed: number;
}

function log(worker: Options['worker'], line: string): void {
  if (worker) process.stdout.write(JSON.stringify({ log: line }) + '\n');
  else process.stdout.write(line + '\n');
}

/** One process: round-robin over the properties in chunks until the case or time budget is spent. */
async function fuzz(o: Options): Promise<Summary> {
  const groups = await loadAllGroups();
  const props: PropertyDef<any>[] = groups.flatMap((g) => g.properties).filter((p) => (p.weight ?? p.runs) > 0 && !p.exhaustive && (!o.only || o.only.test(p.name)));
  for (const g of groups) for (const m of g.missing) log(o.worker, `skipped (not available): ${m}`);
  if (props.length === 0) throw new Error('no property matches');
  const totalWeight = props.reduce((s, p) => s + (p.weight ?? p.runs), 0);
  const budget = new Map(props.map((p) => [p.name, Math.max(1, Math.round((o.cases * (p.weight ?? p.runs)) / totalWeight))]));
  const stats = new Map<string, Stat>(props.map((p) => [p.name, { name: p.name, cases: 0, ms: 0, failures: 0, saved: [] }]));
  const seenErrors = new Map<string, Set<string>>();
  const t0 = performance.now();
  let round = 0;
  let lastReport = t0;
  const deadline = t0 + o.seconds * 1000;
  for (;;) {
    let ran = false;
    for (const p of props) {
      const st = stats.get(p.name)!;
      const left = budget.get(p.name)! - st.cases;
      if (left <= 0 || performance.now() > deadline) continue;
      // Properties that keep failing the same way are not re-run forever.
      if (st.failures >= 3) continue;
      ran = true;
      const n = Math.min(left, Math.max(1, Math.round(o.chunk * ((p.weight ?? p.runs) / 1000))));
      const seed = (o.seed + round * 7919 + [...p.name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0)) >>> 0;
      if (o.worker) process.stdout.write(JSON.stringify({ chunk: { property: p.name, seed, runs: n } }) + '\n');
      const out: RunOutcome = await runProperty(p, n, seed, o.slowMs, !o.strict);
      st.cases += out.cases;
      st.ms += out.ms;
      if (out.failed) {
        const key = (out.error ?? '').split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 200);
        const seen = seenErrors.get(p.name) ?? new Set();
        seenErrors.set(p.name, seen);
        st.failures++;
        if (!seen.has(key)) {
          seen.add(key);
          const file = o.save ? saveFailure(out) : '(not saved)';
          st.saved.push(file);
          log(o.worker, `FAIL ${describeFailure(out).split('\n').slice(0, 3).join(' | ').slice(0, 1200)}\n  saved: ${file}`);
        }
      }
    }
    round++;
    // Workers report their counts after every round: a worker killed as hung still has its cases counted.
    if (o.worker) process.stdout.write(JSON.stringify({ partial: { seed: o.seed, stats: [...stats.values()], known: [...knownIssueHits().entries()], hangs: [], elapsed: (performance.now() - t0) / 1000 } }) + '\n');
    const now = performance.now();
    if (now - lastReport > 30_000) {
      lastReport = now;
      const total = [...stats.values()].reduce((s, x) => s + x.cases, 0);
      log(o.worker, `… ${total} cases in ${((now - t0) / 1000).toFixed(0)} s`);
    }
    if (!ran) break;
  }
  return { seed: o.seed, stats: [...stats.values()], known: [...knownIssueHits().entries()], hangs: [], elapsed: (performance.now() - t0) / 1000 };
}

function printSummary(s: Summary, seeds: number[]): void {
  const total = s.stats.reduce((a, x) => a + x.cases, 0);
  const w = Math.max(...s.stats.map((x) => x.name.length), 8);
  const lines = [`\nfuzz summary — seed${seeds.length > 1 ? 's' : ''} ${seeds.join(', ')} — ${total} cases in ${s.elapsed.toFixed(0)} s`, `${'property'.padEnd(w)}  ${'cases'.padStart(9)}  ${'ms/case'.padStart(8)}  failures`];
  for (const x of [...s.stats].sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(`${x.name.padEnd(w)}  ${String(x.cases).padStart(9)}  ${(x.cases ? x.ms / x.cases : 0).toFixed(3).padStart(8)}  ${x.failures}${x.saved.length ? '  ' + x.saved.map((f) => f.replace(/^.*\//, '')).join(', ') : ''}`);
  }
  if (s.known.length) {
    lines.push('', 'cases explained by open known issues (test/fuzz/known.ts):');
    for (const [id, n] of s.known) lines.push(`  ${String(n).padStart(7)}  ${id}`);
  }
  if (s.hangs.length) lines.push('', 'HANGS (killed after 120 s without output):', ...s.hangs.map((h) => `  ${h}`));
  const failed = s.stats.filter((x) => x.failures > 0).length + s.hangs.length;
  lines.push('', failed ? `${failed} propert${failed === 1 ? 'y' : 'ies'} failed; inputs saved in test/fuzz/failures/` : 'no new failures');
  process.stdout.write(lines.join('\n') + '\n');
}

function merge(parts: Summary[]): Summary {
  const stats = new Map<string, Stat>();
  const known = new Map<string, number>();
  for (const p of parts) {
    for (const s of p.stats) {
      const m = stats.get(s.name) ?? { name: s.name, cases: 0, ms: 0, failures: 0, saved: [] };
      m.cases += s.cases;
      m.ms += s.ms;
      m.failures += s.failures;
      m.saved.push(...s.saved);
      stats.set(s.name, m);
    }
    for (const [id, n] of p.known) known.set(id, (known.get(id) ?? 0) + n);
  }
  return { seed: parts[0]?.seed ?? 0, stats: [...stats.values()], known: [...known.entries()], hangs: parts.flatMap((p) => p.hangs), elapsed: Math.max(0, ...parts.map((p) => p.elapsed)) };
}

/** The parent of --jobs J: J workers with seeds seed+k, each with cases/J, watched for hangs. */
async function parent(o: Options): Promise<void> {
  const seeds = Array.from({ length: o.jobs }, (_, k) => (o.seed + k) >>> 0);
  const parts = await Promise.all(
    seeds.map(
      (seed, k) =>
        new Promise<Summary>((resolve) => {
          const args = ['--import', 'tsx', __filename, '--worker', `${k}/${o.jobs}`, '--seed', String(seed), '--cases', String(Math.ceil(o.cases / o.jobs)), '--chunk', String(o.chunk), '--slow', String(o.slowMs)];
          if (Number.isFinite(o.seconds)) args.push('--seconds', String(o.seconds));
          if (o.only) args.push('--only', o.only.source);
          if (!o.save) args.push('--no-save');
          if (o.strict) args.push('--strict');
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
          let buf = '';
          let lastChunk = '';
          let result: Summary | undefined;
          let partial: Summary | undefined;
          let watchdog = setTimeout(onHang, 120_000);
          function onHang(): void {
            child.kill('SIGKILL');
            result = { ...(partial ?? { seed, stats: [], known: [], elapsed: 0 }), hangs: [`worker ${k} (seed ${seed}) stuck in ${lastChunk} (its earlier rounds are counted)`] };
          }
          child.stdout.on('data', (d: Buffer) => {
            clearTimeout(watchdog);
            watchdog = setTimeout(onHang, 120_000);
            buf += d.toString();
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              let msg: { log?: string; chunk?: unknown; summary?: Summary; partial?: Summary };
              try {
                msg = JSON.parse(line) as typeof msg;
              } catch {
                process.stdout.write(`[worker ${k}] ${line}\n`);
                continue;
              }
              if (msg.log) process.stdout.write(`[worker ${k}] ${msg.log}\n`);
              if (msg.chunk) lastChunk = JSON.stringify(msg.chunk);
              if (msg.partial) partial = msg.partial;
              if (msg.summary) result = msg.summary;
            }
          });
          child.on('close', (code) => {
            clearTimeout(watchdog);
            resolve(result ?? { ...(partial ?? { seed, stats: [], known: [], elapsed: 0 }), hangs: [`worker ${k} (seed ${seed}) exited with ${code} during ${lastChunk}`] });
          });
        }),
    ),
  );
  const merged = merge(parts);
  printSummary(merged, seeds);
  process.exitCode = merged.stats.some((s) => s.failures > 0) || merged.hangs.length ? 1 : 0;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.list) {
    for (const g of await loadAllGroups()) {
      for (const p of g.properties) process.stdout.write(`${p.name}  (normal run: ${p.exhaustive ?? p.runs} cases, fuzz weight ${p.exhaustive ? 0 : (p.weight ?? p.runs)})\n`);
      for (const m of g.missing) process.stdout.write(`(skipped) ${m}\n`);
    }
    return;
  }
  if (o.jobs > 1 && !o.worker) {
    process.stdout.write(`fuzz: seed ${o.seed}, ${o.cases} cases${Number.isFinite(o.seconds) ? `, at most ${o.seconds} s` : ''}, ${o.jobs} jobs\n`);
    await parent(o);
    return;
  }
  if (!o.worker) process.stdout.write(`fuzz: seed ${o.seed}, ${o.cases} cases${Number.isFinite(o.seconds) ? `, at most ${o.seconds} s` : ''}\n`);
  const s = await fuzz(o);
  if (o.worker) process.stdout.write(JSON.stringify({ summary: s }) + '\n');
  else {
    printSummary(s, [o.seed]);
    process.exitCode = s.stats.some((x) => x.failures > 0) ? 1 : 0;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fuzz: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
