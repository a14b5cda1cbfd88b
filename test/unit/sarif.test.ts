// SARIF output validated against the SARIF 2.1.0 JSON schema.
//
// test/fixtures/sarif-schema-2.1.0.json is the file `sarif-2.1.0.json` of the npm package
// @microsoft/sarif-multitool-linux 5.7.0 (https://github.com/microsoft/sarif-sdk), copied byte for byte;
// MIT licence, Copyright (c) Microsoft Corporation. It is the only file taken from that package.
// The validator below implements exactly the JSON-Schema keywords that schema uses and throws on any
// other keyword, so a schema update cannot make the test pass by being misread.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkDocument } from '../../src/check.ts';
import { FINDING_CODES, makeFinding, type Finding } from '../../src/findings.ts';
import { renderSarif, toSarif, codeHelpUri } from '../../src/report.ts';
import type { FileReport } from '../../src/check.ts';

const SCHEMA_PATH = join(__dirname, '..', 'fixtures', 'sarif-schema-2.1.0.json');
type Schema = Record<string, unknown>;
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema;

const IGNORED = new Set(['$schema', 'title', 'description', 'default', 'definitions', '$comment', '$id', 'id']);

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    default:
      throw new Error(`unsupported type ${t}`);
  }
}

const FORMATS: Record<string, (s: string) => boolean> = {
  uri: (s) => /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/.test(s),
  'uri-reference': (s) => !/\s/.test(s),
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
};

function resolveRef(ref: string): Schema {
  assert.ok(ref.startsWith('#/'), `unsupported $ref ${ref}`);
  let node: unknown = schema;
  for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  assert.ok(node && typeof node === 'object', `dangling $ref ${ref}`);
  return node as Schema;
}

/** Returns the errors (JSON pointer: message) of `value` against `s`. */
function validate(s: Schema, value: unknown, path = ''): string[] {
  const errors: string[] = [];
  for (const [key, arg] of Object.entries(s)) {
    if (IGNORED.has(key)) continue;
    switch (key) {
      case '$ref':
        errors.push(...validate(resolveRef(arg as string), value, path));
        break;
      case 'type': {
        const types = Array.isArray(arg) ? (arg as string[]) : [arg as string];
        if (!types.some((t) => typeOk(t, value))) errors.push(`${path}: expected ${types.join('|')}, got ${JSON.stringify(value)?.slice(0, 60)}`);
        break;
      }
      case 'enum':
        if (!(arg as unknown[]).some((x) => canonical(x) === canonical(value))) errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(arg)}`);
        break;
      case 'properties':
        if (typeOk('object', value)) {
          for (const [p, sub] of Object.entries(arg as Record<string, Schema>)) {
            const v = (value as Record<string, unknown>)[p];
            if (v !== undefined) errors.push(...validate(sub, v, `${path}/${p}`));
          }
        }
        break;
      case 'additionalProperties':
        if (typeOk('object', value)) {
          const known = new Set(Object.keys((s.properties as Record<string, unknown> | undefined) ?? {}));
          for (const [p, v] of Object.entries(value as Record<string, unknown>)) {
            if (known.has(p)) continue;
            if (arg === false) errors.push(`${path}: unexpected property '${p}'`);
            else if (arg !== true) errors.push(...validate(arg as Schema, v, `${path}/${p}`));
          }
        }
        break;
      case 'required':
        if (typeOk('object', value)) {
          for (const p of arg as string[]) if ((value as Record<string, unknown>)[p] === undefined) errors.push(`${path}: missing required '${p}'`);
        }
        break;
      case 'items':
        if (Array.isArray(value)) value.forEach((v, i) => errors.push(...validate(arg as Schema, v, `${path}/${i}`)));
        break;
      case 'minItems':
        if (Array.isArray(value) && value.length < (arg as number)) errors.push(`${path}: fewer than ${arg} items`);
        break;
      case 'uniqueItems':
        if (arg === true && Array.isArray(value)) {
          const seen = new Set(value.map(canonical));
          if (seen.size !== value.length) errors.push(`${path}: items are not unique`);
        }
        break;
      case 'minimum':
        if (typeof value === 'number' && value < (arg as number)) errors.push(`${path}: ${value} < minimum ${arg}`);
        break;
      case 'maximum':
        if (typeof value === 'number' && value > (arg as number)) errors.push(`${path}: ${value} > maximum ${arg}`);
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(arg as string, 'u').test(value)) errors.push(`${path}: '${value}' does not match ${arg}`);
        break;
      case 'format': {
        const check = FORMATS[arg as string];
        assert.ok(check, `unsupported format ${arg}`);
        if (typeof value === 'string' && !check(value)) errors.push(`${path}: '${value}' is not a ${arg}`);
        break;
      }
      case 'anyOf':
        if (!(arg as Schema[]).some((sub) => validate(sub, value, path).length === 0)) errors.push(`${path}: matches none of anyOf`);
        break;
      case 'oneOf': {
        const n = (arg as Schema[]).filter((sub) => validate(sub, value, path).length === 0).length;
        if (n !== 1) errors.push(`${path}: matches ${n} of oneOf (expected 1)`);
        break;
      }
      default:
        throw new Error(`the validator does not implement the keyword '${key}' (at ${path || '/'})`);
    }
  }
  return errors;
}

function r(line: number, s: number, e: number) {
  return { start: { line, character: s }, end: { line, character: e } };
}

function report(path: string, findings: Finding[], extra: Partial<FileReport> = {}): FileReport {
  const stats = { lines: 10, understood: 9, skipped: 1 };
  return { path, format: 'idtrace', findings, stats, parse: { format: 'idtrace', events: [], findings: [], stats }, dependencies: [], ...extra };
}

const CWD = '/work/repo';
const reports: FileReport[] = [
  report(`${CWD}/traces/boot 4vcpu.idtrace`, [
    makeFinding('IDR001', 'expected an event', r(0, 0, 5)),
    makeFinding('IDR003', 'name and encoding disagree', r(3, 11, 37), {
      fixes: [
        { title: 'Use the name', range: r(3, 11, 26), newText: 'ID_AA64PFR1_EL1' },
        { title: 'Use the encoding', range: r(3, 26, 37), newText: '(3,0,0,4,0)' },
      ],
    }),
    makeFinding('IDR010', 'write rejected', r(7, 28, 46), {
      related: [{ path: `${CWD}/hosts/graviton3.iddump`, range: r(2, 22, 38), message: 'host limit' }, { range: r(4, 0, 10), message: 'the VM was configured here' }],
      errno: '-EINVAL',
      register: 'ID_AA64PFR0_EL1',
      field: 'SVE',
    }),
    makeFinding('IDR015', 'recorded result differs', r(8, 0, 0)),
    makeFinding('IDR020', 'guest read mismatch', r(9, 4, 2), { severity: 'information' }),
  ]),
  report('/elsewhere/outside.iddump', [makeFinding('IDR030', 'not a safe subset', r(1, 22, 38), { severity: 'hint' })], { format: 'iddump' }),
  report(`${CWD}/clean.idtrace`, []),
];

describe('SARIF', () => {
  it('the validator rejects what the schema forbids (so the next test can fail)', () => {
    assert.deepEqual(validate(schema, { version: '2.1.0', runs: [] }), []);
    assert.notDeepEqual(validate(schema, { version: '2.0.0', runs: [] }), []);
    assert.notDeepEqual(validate(schema, { version: '2.1.0' }), []);
    const bad = toSarif(reports, { cwd: CWD, toolVersion: '1.2.3' });
    const run = bad.runs[0] as { tool: { driver: Record<string, unknown> }; results: { locations: { physicalLocation: { region: Record<string, number> } }[] }[] };
    delete run.tool.driver.name;
    run.results[0]!.locations[0]!.physicalLocation.region.startLine = 0;
    const errors = validate(schema, bad);
    assert.ok(errors.some((e) => e.includes("missing required 'name'")), errors.join('\n'));
    assert.ok(errors.some((e) => e.includes('minimum 1')), errors.join('\n'));
    assert.notDeepEqual(validate(schema, { version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: { text: 'm' }, level: 'fatal' }] }] }), []);
  });

  it('is valid SARIF 2.1.0', () => {
    const log = JSON.parse(renderSarif(reports, { cwd: CWD, toolVersion: '0.1.0' }));
    assert.deepEqual(validate(schema, log), []);
    assert.deepEqual(validate(schema, JSON.parse(renderSarif([], { cwd: CWD, toolVersion: '0.1.0' }))), []);
    assert.deepEqual(validate(schema, JSON.parse(renderSarif(reports, { toolVersion: '0.1.0' }))), [], 'without a cwd');
  });

  it('is valid SARIF for the real reports of the examples', () => {
    const root = resolve(__dirname, '..', '..');
    const files = readdirSync(join(root, 'examples')).filter((n) => /\.(idtrace|iddump)$/.test(n));
    const real = files.map((n) => checkDocument({ path: join(root, 'examples', n), text: readFileSync(join(root, 'examples', n), 'utf8') }));
    const log = JSON.parse(renderSarif(real, { cwd: root, toolVersion: '0.1.0' }));
    assert.deepEqual(validate(schema, log), []);
    assert.ok(log.runs[0].results.length > 20);
    for (const res of log.runs[0].results) assert.match(res.locations[0].physicalLocation.artifactLocation.uri, /^examples\//);
  });

  it('has what GitHub code scanning needs: driver, rules with help, results located by relative URI and 1-based regions', () => {
    const log = toSarif(reports, { cwd: CWD, toolVersion: '0.1.0' }) as unknown as {
      version: string;
      runs: {
        tool: { driver: { name: string; version: string; informationUri: string; rules: { id: string; name: string; shortDescription: { text: string }; helpUri: string; defaultConfiguration: { level: string } }[] } };
        originalUriBaseIds: Record<string, { uri: string }>;
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: { startLine: number; startColumn: number; endLine: number; endColumn: number } } }[];
          relatedLocations?: { id: number; message: { text: string }; physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: Record<string, number> } }[];
          fixes?: unknown[];
          properties?: Record<string, string>;
        }[];
      }[];
    };
    assert.equal(log.version, '2.1.0');
    assert.equal(log.runs.length, 1);
    const run = log.runs[0]!;
    const driver = run.tool.driver;
    assert.equal(driver.name, 'idreg');
    assert.equal(driver.version, '0.1.0');
    assert.match(driver.informationUri, /^https:\/\//);
    assert.deepEqual(driver.rules.map((x) => x.id), Object.keys(FINDING_CODES));
    for (const rule of driver.rules) {
      assert.equal(rule.helpUri, codeHelpUri(rule.id));
      assert.match(rule.helpUri, /#idr\d{3}$/);
      assert.ok(rule.shortDescription.text.length > 0);
      assert.match(rule.name, /^[A-Z][A-Za-z0-9]+$/);
    }
    assert.equal(run.originalUriBaseIds['%SRCROOT%']!.uri, 'file:///work/repo/');
    assert.equal(run.results.length, 6);
    for (const res of run.results) {
      assert.equal(driver.rules[res.ruleIndex]!.id, res.ruleId);
      assert.ok(res.message.text.length > 0);
      assert.equal(res.locations.length, 1);
    }
    const [syntax, mismatch, limit, recorded, guest, outside] = run.results;
    assert.deepEqual(syntax!.locations[0]!.physicalLocation.artifactLocation, { uri: 'traces/boot%204vcpu.idtrace', uriBaseId: '%SRCROOT%', index: 0 });
    assert.deepEqual(syntax!.locations[0]!.physicalLocation.region, { startLine: 1, startColumn: 1, endLine: 1, endColumn: 6 });
    assert.equal(syntax!.level, 'error');
    assert.equal(mismatch!.fixes!.length, 2);
    assert.equal(limit!.relatedLocations!.length, 2);
    assert.deepEqual(limit!.relatedLocations![0]!.physicalLocation.artifactLocation, { uri: 'hosts/graviton3.iddump', uriBaseId: '%SRCROOT%', index: 1 });
    assert.deepEqual(limit!.relatedLocations![0]!.physicalLocation.region, { startLine: 3, startColumn: 23, endLine: 3, endColumn: 39 });
    assert.equal(limit!.relatedLocations![1]!.physicalLocation.artifactLocation.uri, 'traces/boot%204vcpu.idtrace');
    assert.deepEqual(limit!.properties, { errno: '-EINVAL', register: 'ID_AA64PFR0_EL1', field: 'SVE' });
    assert.equal(recorded!.level, 'warning');
    assert.deepEqual(recorded!.locations[0]!.physicalLocation.region, { startLine: 9, startColumn: 1, endLine: 9, endColumn: 1 });
    assert.equal(guest!.level, 'note');
    assert.deepEqual(guest!.locations[0]!.physicalLocation.region, { startLine: 10, startColumn: 5, endLine: 10, endColumn: 5 }, 'an inverted range collapses');
    assert.deepEqual(outside!.locations[0]!.physicalLocation.artifactLocation, { uri: 'file:///elsewhere/outside.iddump', index: 2 });
    assert.equal(outside!.level, 'note');
  });
});

