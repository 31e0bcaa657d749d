import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineFramer } from '../../src/ftp/control/framing.js';
import { parseListGlob } from '../../src/ftp/listing.js';

const lines = (f: LineFramer, bytes: number[] | string) =>
  f.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)).map((l) => (l.kind === 'line' ? l.bytes.toString('latin1') : '<overlong>'));

test('framing: IAC IP IAC DM ABOR is ABOR', () => {
  assert.deepEqual(lines(new LineFramer(), [0xff, 0xf4, 0xff, 0xf2, ...Buffer.from('ABOR\r\n')]), ['ABOR']);
});

test('framing: IAC IP IAC then ABOR (DM taken out of band by the kernel) is ABOR', () => {
  assert.deepEqual(lines(new LineFramer(), [0xff, 0xf4, 0xff, ...Buffer.from('ABOR\r\n')]), ['ABOR']);
});

test('framing: "ABOR\\r" is complete (ftplib’s urgent LF went out of band); a late LF is not an empty line', () => {
  const f = new LineFramer();
  assert.deepEqual(lines(f, 'ABOR\r'), ['ABOR']);
  assert.deepEqual(lines(f, '\nNOOP\r\n'), ['NOOP']);
  assert.deepEqual(lines(f, 'abor\rNOOP\r\n'), ['abor', 'NOOP']);
});

test('framing: a CR inside other lines is still data until LF', () => {
  const f = new LineFramer();
  assert.deepEqual(lines(f, 'STOR a\rb\r\n'), ['STOR a\rb']);
});

test('globs: *, ?, [..], [!..]; dotfiles only for patterns starting with a dot; directory part kept', () => {
  const g = parseListGlob('sub/*.txt')!;
  assert.equal(g.dirText, 'sub/');
  assert.ok(g.matcher.test('a.txt'));
  assert.ok(!g.matcher.test('.a.txt'));
  assert.ok(!g.matcher.test('a.txt.bak'));
  assert.ok(parseListGlob('.*')!.matcher.test('.hidden'));
  assert.ok(parseListGlob('file?.[ch]')!.matcher.test('file1.c'));
  assert.ok(!parseListGlob('file?.[!ch]')!.matcher.test('file1.c'));
  assert.ok(parseListGlob('a+b(*)')!.matcher.test('a+b(x)'), 'regex characters are literal');
  assert.equal(parseListGlob('plain.txt'), undefined);
  assert.equal(parseListGlob('dir*/plain.txt'), undefined, 'only the last segment');
});
