import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveVirtual } from '../../src/core/vpath.js';
import { decodeBytes, encodeBytes } from '../../src/core/bytes.js';

test('.. stops at the root and absolute paths are relative to it', () => {
  assert.equal(resolveVirtual('/', '../../etc/passwd'), '/etc/passwd');
  assert.equal(resolveVirtual('/a/b', '../../../..'), '/');
  assert.equal(resolveVirtual('/a', '/etc/passwd'), '/etc/passwd');
  assert.equal(resolveVirtual('/a', 'b/./c//d/..'), '/a/b/c');
  assert.equal(resolveVirtual('/a', ''), '/a');
});

test('NUL, CR and LF in names are refused', () => {
  for (const bad of ['a\0b', 'a\rb', 'a\nb']) assert.throws(() => resolveVirtual('/', bad), { code: 'PATH_INVALID_NAME' });
});

test('names that are not valid UTF-8 round-trip byte for byte', () => {
  const raw = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0xc3, 0xa9, 0xc3]);
  const name = decodeBytes(raw);
  assert.ok(name.includes('é'));
  assert.deepEqual(encodeBytes(name), raw);
  assert.deepEqual(encodeBytes(decodeBytes(Buffer.from('日本語 😀', 'utf8'))), Buffer.from('日本語 😀', 'utf8'));
});

test('a byte order mark in a name is kept, valid UTF-8 or not', () => {
  for (const raw of [Buffer.from([0xef, 0xbb, 0xbf, 0x61]), Buffer.from([0xef, 0xbb, 0xbf, 0xff, 0x61, 0xef, 0xbb, 0xbf])]) {
    assert.deepEqual(encodeBytes(decodeBytes(raw)), raw);
  }
  assert.equal(decodeBytes(Buffer.from('\uFEFFa', 'utf8')), '\uFEFFa');
});
