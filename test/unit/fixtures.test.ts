// Data-driven checks: every file under test/fixtures/idtrace and test/fixtures/iddump is checked with
// checkDocument, and the finding codes on each line must be exactly the ones its marker lists:
//
//   vcpu 0 set ID_AA64ISAR0_EL1 0x1011111110312120 = -EINVAL   # expect: IDR010
//   vcpu 0 set ID_AA64ISAR0_EL1 0x1011111110212100 = 0         # expect: none
//
// A line without a marker expects no finding. A `# check: --host FILE --kernel VER` line passes options
// (FILE relative to the fixture). Besides the codes, a recorded result on a line that does not expect a
// disagreement (IDR015, or IDR020-IDR022 for the guest) must equal the model's prediction for that event,
// so `= -EINVAL` in a fixture is an assertion too, and an errno the model does not predict fails the test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkDocument, type CheckOptions } from '../../src/check.ts';
import { FINDING_CODES, type FindingCode } from '../../src/findings.ts';
import type { TraceEvent } from '../../src/model/events.ts';
import { outcomeText } from '../../src/model/vm.ts';

const ROOT = resolve(__dirname, '..', 'fixtures');
const DIRS = ['idtrace', 'iddump'];

interface Fixture {
  name: string;
  path: string;
  text: string;
  expected: Map<number, Set<string>>;
  markers: number;
  options: CheckOptions;
}

const MARKER = /#.*?\bexpect:\s*([^#]*)$/;
const DIRECTIVE = /^\s*#\s*check:\s*(.*)$/;

function loadFixture(dir: string, name: string): Fixture {
  const path = join(ROOT, dir, name);
  const text = readFileSync(path, 'utf8');
  const expected = new Map<number, Set<string>>();
  const options: CheckOptions = {};
  let markers = 0;
  text.split(/\r?\n/).forEach((line, i) => {
    const d = DIRECTIVE.exec(line);
    if (d) {
      const args = d[1]!.trim().split(/\s+/);
      for (let k = 0; k < args.length; k += 2) {
        const flag = args[k]!;
        const value = args[k + 1];
        assert.ok(value !== undefined, `${name}:${i + 1}: ${flag} needs a value`);
        if (flag === '--host') options.host = resolve(ROOT, dir, value);
        else if (flag === '--kernel') options.kernel = value;
        else assert.fail(`${name}:${i + 1}: unknown directive ${flag}`);
      }
      return;
    }
    const m = MARKER.exec(line);
    if (!m) return;
    markers++;
    const words = m[1]!.trim().split(/\s+/).filter(Boolean);
    assert.ok(words.length > 0, `${name}:${i + 1}: empty expect marker`);
    if (words.length === 1 && words[0] === 'none') {
      expected.set(i, new Set());
      return;
    }
    for (const w of words) assert.ok(w in FINDING_CODES, `${name}:${i + 1}: '${w}' is not a finding code`);
    expected.set(i, new Set(words));
  });
  return { name: `${dir}/${name}`, path, text, expected, markers, options };
}

function allFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const dir of DIRS) {
    for (const name of readdirSync(join(ROOT, dir)).sort()) {
      if (name.endsWith('.idtrace') || name.endsWith('.iddump')) out.push(loadFixture(dir, name));
    }
  }
  return out;
}


function show(codes: Iterable<string>): string {
  const list = [...codes].sort();
  return list.length ? list.join(' ') : 'none';
}

/** Every difference between the markers and the findings, one line each. */
function mismatches(fx: Fixture): string[] {
  const report = checkDocument({ path: fx.path, text: fx.text }, fx.options);
  const actual = new Map<number, Map<string, string[]>>();
  for (const f of report.findings) {
    const line = f.range.start.line;
    const byCode = actual.get(line) ?? new Map<string, string[]>();
    byCode.set(f.code, [...(byCode.get(f.code) ?? []), f.message]);
    actual.set(line, byCode);
  }
  const lines = fx.text.split(/\r?\n/);
  const out: string[] = [];
  const allLines = new Set([...fx.expected.keys(), ...actual.keys()]);
  for (const line of [...allLines].sort((a, b) => a - b)) {
    const want = fx.expected.get(line) ?? new Set<string>();
    const got = actual.get(line) ?? new Map<string, string[]>();
    const same = want.size === got.size && [...want].every((c) => got.has(c));
    if (!same) {
      const details = [...got.entries()].map(([c, msgs]) => `      ${c}: ${msgs[0]}`).join('\n');
      out.push(`${fx.name}:${line + 1}: expected ${show(want)}, got ${show(got.keys())}\n    ${lines[line]?.trim()}${details ? '\n' + details : ''}`);
    }
  }
  // Recorded results are assertions too, unless the line expects the model to disagree with them:
  // IDR015 for userspace results, IDR020/IDR021/IDR022 for what a guest saw.
  const DISAGREE = ['IDR015', 'IDR020', 'IDR021', 'IDR022'];
  const predictions = new Map<number, string>();
  for (const p of report.replay?.predictions ?? []) predictions.set(p.eventIndex, p.predicted);
  report.parse.events.forEach((e: TraceEvent, i) => {
    if (!('result' in e) || !e.result) return;
    const line = e.range.start.line;
    if (DISAGREE.some((c) => fx.expected.get(line)?.has(c))) return;
    const recorded = outcomeText(e.result.outcome);
    const predicted = predictions.get(i);
    if (predicted === undefined) {
      if (e.result.outcome.kind !== 'value') out.push(`${fx.name}:${line + 1}: records ${recorded}, but the model makes no prediction\n    ${lines[line]?.trim()}`);
    } else if (predicted !== recorded) {
      out.push(`${fx.name}:${line + 1}: records ${recorded}, but the model predicts ${predicted} (and reports no IDR015 expectation)\n    ${lines[line]?.trim()}`);
    }
  });
  return out;
}

const fixtures = allFixtures();

describe('fixtures', () => {
  for (const fx of fixtures) {
    it(fx.name, () => {
      const isHostDump = fx.name.endsWith('.iddump') && fx.markers === 0 && /^# (features|kernel):/m.test(fx.text);
      assert.ok(fx.markers > 0 || isHostDump, `${fx.name} has no expect: markers`);
      const problems = mismatches(fx);
      assert.ok(problems.length === 0, `\n${problems.join('\n')}`);
    });
  }

  it('the harness fails on a missing, an extra or a wrong code', () => {
    const fx = loadFixture('idtrace', 'syntax.idtrace');
    const line = [...fx.expected.keys()].find((l) => fx.expected.get(l)!.size > 0)!;
    const dropped: Fixture = { ...fx, expected: new Map(fx.expected) };
    dropped.expected.set(line, new Set());
    assert.ok(mismatches(dropped).length > 0, 'a finding without a marker must fail');
    const extra: Fixture = { ...fx, expected: new Map(fx.expected) };
    extra.expected.set(line, new Set([...fx.expected.get(line)!, 'IDR022']));
    assert.ok(mismatches(extra).length > 0, 'a marker without a finding must fail');
    const prediction: Fixture = { ...fx, text: fx.text.replace('vcpu 0 init psci_0_2,pmu_v3', 'vcpu 0 init psci_0_2,pmu_v3 = -EBUSY') };
    assert.ok(mismatches(prediction).length > 0, 'a recorded result the model does not predict must fail');
  });

  it('cover every finding code of the checker, every errno and every kernel era', () => {
    const expected = new Set<string>();
    for (const fx of fixtures) for (const set of fx.expected.values()) for (const c of set) expected.add(c);
    const checkerCodes = (Object.keys(FINDING_CODES) as FindingCode[]).filter((c) => c !== 'IDR031'); // IDR031 is idreg diff
    assert.deepEqual(checkerCodes.filter((c) => !expected.has(c)), [], 'codes without a fixture');
    const all = fixtures.map((f) => f.text).join('\n');
    for (const errno of ['-ENOEXEC', '-ENOENT', '-EINVAL', '-EBUSY', 'undef']) assert.ok(all.includes(`= ${errno}`), errno);
    for (const era of ['6.4', '6.5', '6.7', '6.15']) assert.match(all, new RegExp(`^kernel ${era.replace('.', '\\.')}\\b`, 'm'), era);
  });
});
