import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeText } from '../../src/text.ts';

test('files are decoded as UTF-8, UTF-16 LE or UTF-16 BE by their BOM', () => {
  const text = 'kernel 6.15\nvcpu 0 init psci_0_2 # café\n';
  assert.equal(decodeText(Buffer.from(text, 'utf8')), text);
  assert.equal(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])), text);
  assert.equal(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])), text);
  assert.equal(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])), text);
  // A BE file cut in the middle of a character keeps every whole character.
  assert.equal(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('ab', 'utf16le').swap16(), Buffer.from([0x00])])), 'ab');
  assert.equal(decodeText(Buffer.from('plain ascii')), 'plain ascii');
});
