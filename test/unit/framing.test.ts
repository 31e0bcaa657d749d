import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineFramer, parseCommand, recoverUrgentVerb } from '../../src/ftp/control/framing.js';
import { formatReply, quotePath } from '../../src/ftp/control/reply.js';

const lines = (f: LineFramer, ...chunks: string[]) =>
  chunks.flatMap((c) => f.push(Buffer.from(c, 'latin1'))).map((l) => (l.kind === 'line' ? l.bytes.toString('latin1') : '<overlong>'));

test('a command split over many reads is one line', () => {
  const f = new LineFramer();
  assert.deepEqual(lines(f, 'US', 'ER al', 'ice\r', '\n'), ['USER alice']);
});

test('pipelined commands in one read come out in order', () => {
  assert.deepEqual(lines(new LineFramer(), 'USER a\r\nPASS b\r\nPWD\r\n'), ['USER a', 'PASS b', 'PWD']);
});

test('bare LF ends a line', () => {
  assert.deepEqual(lines(new LineFramer(), 'NOOP\nSYST\n'), ['NOOP', 'SYST']);
});

test('telnet IAC sequences are stripped; IAC IAC is a literal 0xFF', () => {
  assert.deepEqual(lines(new LineFramer(), '\xff\xf4\xff\xf2ABOR\r\n'), ['ABOR']);
  assert.deepEqual(lines(new LineFramer(), '\xff\xfb\x01NOOP\r\n'), ['NOOP']);
  assert.deepEqual(lines(new LineFramer(), 'RETR a\xff\xffb\r\n'), ['RETR a\xffb']);
  assert.deepEqual(lines(new LineFramer(), '\xff\xfa\x18\x01junk\xff\xf0PWD\r\n'), ['PWD']);
});

test('an over-long line is reported once, discarded, and the next line is intact', () => {
  const f = new LineFramer(16);
  assert.deepEqual(lines(f, 'X'.repeat(40), 'Y'.repeat(40) + '\r\nNOOP\r\n'), ['<overlong>', 'NOOP']);
  assert.ok(f.pending <= 16);
});

test('arguments are verbatim; verbs case-insensitive', () => {
  assert.deepEqual(parseCommand('retr  two spaces '), { verb: 'RETR', arg: ' two spaces ', hasArg: true });
  assert.deepEqual(parseCommand('CWD -dash "q"'), { verb: 'CWD', arg: '-dash "q"', hasArg: true });
  assert.deepEqual(parseCommand('pwd'), { verb: 'PWD', arg: '', hasArg: false });
});

test('garbage before ABOR/STAT/QUIT is recovered', () => {
  assert.equal(recoverUrgentVerb('\xf2ABOR'), 'ABOR');
  assert.equal(recoverUrgentVerb('xxQUIT'), 'QUIT');
  assert.equal(recoverUrgentVerb('FOO'), undefined);
});

test('multi-line replies indent inner lines that start with a digit', () => {
  assert.equal(formatReply(211, ['Features:', ' SIZE', '226 looks like a code', 'End']), '211-Features:\r\n SIZE\r\n 226 looks like a code\r\n211 End\r\n');
  assert.equal(formatReply(200, 'ok\r\n500 injected'), '200 ok  500 injected\r\n');
});

test('quotes inside paths are doubled', () => {
  assert.equal(quotePath('/a "b"'), '"/a ""b"""');
});

/** The lines a framer gives, as text ('<overlong>' for an over-long one). */
function framed(framer: LineFramer, chunks: Buffer[]): string[] {
  return chunks.flatMap((c) => framer.push(c)).map((l) => (l.kind === 'line' ? l.bytes.toString('latin1') : '<overlong>'));
}

test('whole reads (the indexOf fast path) give exactly the lines of byte-by-byte reads (the general parser)', () => {
  const cases = [
    'USER alice\r\nPASS wonderland\r\nQUIT\r\n',
    'ABOR\r\n',
    'ABOR\rNOOP\r\n',
    'xABOR\r\nNOOP\n',
    'AB\rC\r\n',
    '\n\n\r\n',
    `${'a'.repeat(15)}\r\n${'b'.repeat(16)}\n${'c'.repeat(16)}\r\n${'d'.repeat(17)}\nOK\r\n`,
    'NOOP\r\n\xff\xf4\xff\xf2ABOR\r\n',
  ];
  // Deterministic random lines over an alphabet that hits every rule (IAC, CR, LF, ABOR, the limit).
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = ['A', 'B', 'O', 'R', 'a', ' ', 'x', '\r', '\n', '\r\n', '\r\n', '\xff', '\xf4', 'ABOR'];
  for (let i = 0; i < 400; i++) {
    let text = '';
    const parts = 1 + rand(30);
    for (let k = 0; k < parts; k++) text += alphabet[rand(alphabet.length)];
    cases.push(text + (rand(2) ? '\r\n' : '\n'));
  }
  for (const text of cases) {
    const bytes = Buffer.from(text, 'latin1');
    const whole = framed(new LineFramer(16), [bytes]);
    const byByte = framed(new LineFramer(16), [...bytes].map((b) => Buffer.from([b])));
    assert.deepEqual(whole, byByte, JSON.stringify(text));
  }
});
