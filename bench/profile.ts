// Profiles the code under benchmark and prints where the time (and the retained memory) goes, mapped
// back to the TypeScript sources through the bundles' source maps.
//
//   node --import tsx bench/profile.ts cli  [--input ftrace1m]   `idreg check FILE --format json` (cpu + heap)
//   node --import tsx bench/profile.ts lsp  [--input doc40m]     server: didOpen, hovers, edits
//   node --import tsx bench/profile.ts disk [--input disk100m]   server: idregLens/checkFileOnDisk
//   node --import tsx bench/profile.ts summarize FILE.cpuprofile|FILE.heapprofile…
//   options: --dir CACHE_DIR  --top N  --interval US (cpu sampling interval, default 200 µs)
//
// Profiles are written to <cache>/profiles/ (.cpuprofile opens in Chrome DevTools / VS Code).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';
import { defaultCacheDir, ensureInput, INPUTS } from './gen.ts';
import {
  findServerCommand, loadDoc, lspDiskScenario, lspDocScenario, ROOT, runCliCheck, snapshotDist,
} from './scenarios.ts';

const argv = process.argv.slice(2);
const mode = argv[0] ?? 'cli';
const opt = (n: string): string | undefined => {
  const i = argv.indexOf(n);
  return i >= 0 ? argv[i + 1] : undefined;
};
const cacheDir = opt('--dir') ?? defaultCacheDir();
const top = Number(opt('--top') ?? 25);
const interval = Number(opt('--interval') ?? 200);
const inputId = opt('--input') ?? (mode === 'cli' ? 'ftrace1m' : mode === 'lsp' ? 'doc40m' : 'disk100m');

// ---------------------------------------------------------------------------------------------
// Source maps

const maps = new Map<string, SourceMap | null>();
function mapLocation(url: string, line: number, col: number): string {
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  if (!file) return '(native)';
  if (!file.endsWith('.js')) return file;
  let sm = maps.get(file);
  if (sm === undefined) {
    sm = null;
    try {
      if (existsSync(file + '.map')) sm = new SourceMap(JSON.parse(readFileSync(file + '.map', 'utf8')));
    } catch {
      sm = null;
    }
    maps.set(file, sm);
  }
  if (sm && line >= 0) {
    const e = sm.findEntry(line, Math.max(0, col)) as { originalSource?: string; originalLine?: number };
    if (e.originalSource) {
      // Sources are relative to the map (dist/); the snapshot lives elsewhere, so strip the ../ prefix.
      const src = e.originalSource.replace(/^(\.\.\/)+/, '').replace(/^file:\/\//, '');
      return `${src}:${(e.originalLine ?? 0) + 1}`;
    }
  }
  const shown = file.includes('/dist-snapshot/') ? `dist/${basename(file)}` : relative(ROOT, file);
  return `${shown}:${line + 1}`;
}

// ---------------------------------------------------------------------------------------------
// CPU profile

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function keyOf(n: CpuNode): string {
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  if (f.url.startsWith('node:')) return `${name} ${f.url}`;
  return `${name} ${mapLocation(f.url, f.lineNumber, f.columnNumber)}`;
}

export function summarizeCpu(path: string, n = top): string {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const keys = new Map(p.nodes.map((x) => [x.id, keyOf(x)]));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // the delta before the next sample is this sample's time
    const id = p.samples[i]!;
    all += dt;
    const k = keys.get(id)!;
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const kk = keys.get(cur)!;
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const fmt = (m: Map<string, number>, title: string): string => {
    const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
    return [`${title}`, ...rows.map(([k, v]) => `  ${v.toFixed(1).padStart(8)} ms ${((100 * v) / all).toFixed(1).padStart(5)}%  ${k}`)].join('\n');
  };
  return [
    `${basename(path)}: ${all.toFixed(0)} ms sampled (${p.samples.length} samples)`,
    fmt(self, 'self time:'),
    fmt(new Map([...total].filter(([k]) => !k.startsWith('(root)'))), 'inclusive time:'),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Heap profile (sampling; what is still allocated when the profile is taken, i.e. at exit)

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  children: HeapNode[];
}

export function summarizeHeap(path: string, n = top): string {
  const p = JSON.parse(readFileSync(path, 'utf8')) as { head: HeapNode };
  const self = new Map<string, number>();
  let all = 0;
  const walk = (x: HeapNode): void => {
    const k = keyOf({ id: 0, callFrame: x.callFrame });
    self.set(k, (self.get(k) ?? 0) + x.selfSize);
    all += x.selfSize;
    for (const c of x.children) walk(c);
  };
  walk(p.head);
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return [
    `${basename(path)}: ${(all / 2 ** 20).toFixed(1)} MiB sampled live at exit, by allocating function:`,
    ...rows.map(([k, v]) => `  ${(v / 2 ** 20).toFixed(1).padStart(8)} MiB ${((100 * v) / all).toFixed(1).padStart(5)}%  ${k}`),
  ].join('\n');
}

function newest(dir: string, ext: string): string | undefined {
  const fs = readdirSync(dir).filter((f) => f.endsWith(ext)).sort();
  return fs.length ? join(dir, fs[fs.length - 1]!) : undefined;
}

async function main(): Promise<void> {
  if (mode === 'summarize') {
    for (const f of argv.slice(1).filter((a) => /\.(cpu|heap)profile$/.test(a))) {
      console.log((f.endsWith('.cpuprofile') ? summarizeCpu(f) : summarizeHeap(f)) + '\n');
    }
    return;
  }
  const spec = INPUTS[inputId];
  if (!spec) throw new Error(`unknown input ${inputId}; one of ${Object.keys(INPUTS).join(', ')}`);
  ensureInput(cacheDir, INPUTS['iddump']!);
  const input = ensureInput(cacheDir, spec, (s) => console.error(s));
  const out = resolve(cacheDir, 'profiles', `${mode}-${inputId}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // The bundles (and their source maps) are copied next to the profiles, so that a later
  // `summarize` maps the profile with the maps of the code that produced it.
  snapshotDist(out);
  const cpuFlags = ['--cpu-prof', `--cpu-prof-dir=${out}`, `--cpu-prof-interval=${interval}`];
  const heapFlags = ['--heap-prof', `--heap-prof-dir=${out}`];
  if (mode === 'cli') {
    const plain = await runCliCheck(input.path);
    const cpu = await runCliCheck(input.path, cpuFlags);
    const heap = await runCliCheck(input.path, heapFlags);
    console.log(`idreg check ${input.file}: ${plain.wallMs.toFixed(0)} ms unprofiled, ${cpu.wallMs.toFixed(0)} ms with --cpu-prof, exit ${plain.code}, peak RSS ${((plain.maxRssKiB ?? 0) / 1024).toFixed(0)} MiB (${heap.code})`);
  } else {
    const cmd = await findServerCommand(cacheDir);
    if ('error' in cmd) throw new Error(cmd.error);
    for (const flags of [cpuFlags, heapFlags]) {
      if (mode === 'lsp') {
        const r = await lspDocScenario(cmd, loadDoc(input.path), { hovers: 200, edits: 60, nodeFlags: flags, workspace: cacheDir });
        console.log(`lsp ${input.file}: first diagnostics ${r.firstDiagMs.toFixed(0)} ms, first hover ${r.hoverFirstMs.toFixed(1)} ms, edits ${r.editMs.length}`);
      } else {
        const r = await lspDiskScenario(cmd, input.path, { nodeFlags: flags, workspace: cacheDir });
        console.log(`disk ${input.file}: first diagnostics ${r.firstDiagMs.toFixed(0)} ms, response ${r.responseMs.toFixed(0)} ms`);
      }
    }
  }
  const cpuFile = newest(out, '.cpuprofile');
  const heapFile = newest(out, '.heapprofile');
  console.log(`profiles in ${out}`);
  if (cpuFile) console.log('\n' + summarizeCpu(cpuFile));
  else console.log('no .cpuprofile written (did the process exit normally?)');
  if (heapFile) console.log('\n' + summarizeHeap(heapFile));
}

if (process.argv[1] && /profile\.ts$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    console.error((e as Error).stack ?? String(e));
    process.exitCode = 1;
  });
}
