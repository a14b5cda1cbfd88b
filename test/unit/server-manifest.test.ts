// The extension manifest (package.json contributions) against the code and files it names: every
// command is registered by the client, every grammar, configuration and walkthrough file exists, the
// settings match the server's typed settings, and the language configuration keeps register tokens
// one word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SETTINGS } from '../../server/protocol.ts';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const client = readFileSync(join(root, 'client/extension.ts'), 'utf8');

test('every contributed command is registered by the client', () => {
  for (const c of pkg.contributes.commands as { command: string }[]) {
    assert.ok(client.includes(`registerCommand('${c.command}'`), `${c.command} is not registered in client/extension.ts`);
  }
});

test('languages, grammars and language configurations exist and parse', () => {
  const ids = (pkg.contributes.languages as { id: string; configuration: string }[]).map((l) => l.id);
  assert.deepEqual(ids, ['idtrace', 'iddump', 'kvm-ftrace']);
  for (const l of pkg.contributes.languages) JSON.parse(readFileSync(join(root, l.configuration), 'utf8'));
  for (const g of pkg.contributes.grammars as { language: string; path: string; scopeName: string }[]) {
    const grammar = JSON.parse(readFileSync(join(root, g.path), 'utf8'));
    assert.equal(grammar.scopeName, g.scopeName);
    // The patterns are Oniguruma; the ones used here are also valid JavaScript regular expressions.
    JSON.stringify(grammar, (k, v) => {
      if ((k === 'match' || k === 'begin' || k === 'end') && typeof v === 'string') new RegExp(v);
      return v;
    });
  }
  for (const lang of ids) assert.ok(pkg.activationEvents.includes(`onLanguage:${lang}`), `activation on ${lang}`);
});

test('the word pattern keeps register names, generic names and one-reg IDs one word', () => {
  const conf = JSON.parse(readFileSync(join(root, 'language-configuration.json'), 'utf8'));
  const re = new RegExp(conf.wordPattern, 'g');
  for (const word of ['ID_AA64PFR0_EL1', 'S3_0_C0_C4_0', '0x603000000013c020', 'SYS_ID_AA64ISAR0_EL1', '-EINVAL']) {
    const words: string[] = `vcpu 0 get ${word} = 0`.match(re) ?? [];
    assert.ok(words.includes(word), `${word} → ${words.join(' | ')}`);
  }
});

test('ftrace files are recognised by their first line', () => {
  const lang = pkg.contributes.languages.find((l: { id: string }) => l.id === 'kvm-ftrace');
  const re = new RegExp(lang.firstLine);
  assert.ok(re.test('# tracer: nop'));
  assert.ok(re.test(' qemu-system-aar-4243    [001] d..1.  1234.000020: kvm_sys_access: PC: ffff800058f3ea74 ID_AA64MMFR1_EL1 (3,0,0,7,1) read'));
  assert.ok(re.test('  CPU 0/KVM-2705 [074] ..... 4756.369276: kvm_exit: TRAP: HSR_EC: 0x0018 (SYS64), PC: 0x0000000080528a6c'));
  assert.ok(!re.test('vcpu 0 get ID_AA64PFR0_EL1'));
  assert.ok(!re.test('{ "reg_modifiers": [] }'));
});

test('settings match the server’s typed settings', () => {
  const props = Object.keys(pkg.contributes.configuration.properties).sort();
  const flat = (o: Record<string, unknown>, prefix = 'idregLens.'): string[] =>
    Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? flat(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]));
  assert.deepEqual(props, flat(DEFAULT_SETTINGS as unknown as Record<string, unknown>).sort());
  for (const [key, value] of Object.entries(pkg.contributes.configuration.properties as Record<string, { default: unknown }>)) {
    const path = key.replace('idregLens.', '').split('.');
    const def = path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], DEFAULT_SETTINGS);
    assert.deepEqual(value.default, def, key);
  }
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['idregLens.host']);
});

test('walkthrough media and examples exist; the vsix keeps what runs', () => {
  for (const w of pkg.contributes.walkthroughs) {
    for (const step of w.steps) {
      if (step.media.markdown) assert.ok(existsSync(join(root, step.media.markdown)), step.media.markdown);
      for (const m of (step.description as string).matchAll(/openExample\?%5B%22([^%]+)%22%5D/g)) {
        assert.ok(existsSync(join(root, 'examples', m[1]!)), `examples/${m[1]}`);
      }
    }
  }
  assert.ok(existsSync(join(root, pkg.icon)));
  assert.ok(existsSync(join(root, 'LICENSE')));
  const ignore = readFileSync(join(root, '.vscodeignore'), 'utf8');
  for (const keep of ['!dist/client.js', '!dist/server.js', '!syntaxes/**', '!examples/**', '!README.md', '!LICENSE', '!package.json']) {
    assert.ok(ignore.includes(keep), keep);
  }
});
