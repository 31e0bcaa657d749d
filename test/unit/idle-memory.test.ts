import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineFramer } from '../../src/ftp/control/framing.js';
import { noteControlActivity, setIdleCollector } from '../../src/core/idle-memory.js';
import { createLogger } from '../../src/core/logger-pino.js';
import { jsonLogger, silentLogger } from '../../src/core/logger.js';

const lines = (f: LineFramer, text: string) => f.push(Buffer.from(text, 'latin1')).map((l) => (l.kind === 'line' ? l.bytes.toString('latin1') : '<overlong>'));

test('framing: framers sharing one line buffer keep their own unfinished lines apart', () => {
  const a = new LineFramer();
  const b = new LineFramer();
  const long = 'x'.repeat(3000); // grows the shared buffer while `a` holds a partial line
  assert.deepEqual(lines(a, 'STOR first-half'), []);
  assert.equal(a.pending, 'STOR first-half'.length);
  assert.deepEqual(lines(b, `RETR ${long}\r\nNOOP\r\nCWD par`), [`RETR ${long}`, 'NOOP']);
  assert.deepEqual(lines(a, '-second\r\n'), ['STOR first-half-second']);
  assert.equal(a.pending, 0);
  assert.deepEqual(lines(b, `tial/${long}\r\n`), [`CWD partial/${long}`]);
  assert.equal(b.pending, 0);
});

test('framing: a partial line longer than the shared buffer survives, and the limit still applies across reads', () => {
  const f = new LineFramer(1000);
  const other = new LineFramer(1000);
  assert.deepEqual(lines(f, 'A'.repeat(900)), []);
  assert.deepEqual(lines(other, 'PWD\r\n'), ['PWD']); // reuses the buffer in between
  assert.deepEqual(lines(f, 'B'.repeat(200) + '\r\nNOOP\r\n'), ['<overlong>', 'NOOP']);
  assert.deepEqual(lines(f, 'C'.repeat(600)), []);
  assert.deepEqual(lines(f, 'D'.repeat(300) + '\r\n'), ['C'.repeat(600) + 'D'.repeat(300)]);
});

test('loggers say which levels they write (sessions skip the per-command debug record)', () => {
  const pinoLike = createLogger({ level: 'error', write: () => undefined });
  assert.equal(pinoLike.isLevelEnabled?.('debug'), false);
  assert.equal(pinoLike.isLevelEnabled?.('error'), true);
  assert.equal(pinoLike.child({ session: 'x' }).isLevelEnabled?.('warn'), false);
  assert.equal(createLogger({ level: 'debug', write: () => undefined }).isLevelEnabled?.('debug'), true);
  assert.equal(jsonLogger('info', {}, () => undefined).isLevelEnabled?.('debug'), false);
  assert.equal(jsonLogger('info', {}, () => undefined).isLevelEnabled?.('info'), true);
  assert.equal(silentLogger.isLevelEnabled?.('error'), false);
});

test('idle memory: a burst of control activity that grew the heap is collected once quiet, a lone command is not', async () => {
  let collections = 0;
  setIdleCollector(() => collections++);
  try {
    // A burst: reads while the heap grows by well over the 1 MiB threshold.
    const kept: string[][] = [];
    for (let i = 0; i < 40; i++) {
      noteControlActivity();
      kept.push(Array.from({ length: 2000 }, (_, k) => `session ${i} object ${k}`));
    }
    assert.equal(collections, 0, 'nothing runs while reads keep coming');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(collections, 1, 'one release once the reads stopped');
    // One more read without growth: quiet again, but nothing worth collecting.
    noteControlActivity();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(collections, 1);
    assert.equal(kept.length, 40);
  } finally {
    setIdleCollector(undefined);
  }
});

test('idle memory: after start-up (or a release), six quiet seconds bring one more collection; activity cancels it', async () => {
  let collections = 0;
  setIdleCollector(() => collections++);
  try {
    await new Promise((r) => setTimeout(r, 6500));
    assert.equal(collections, 1, 'the settled collection ran once');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(collections, 1, 'and only once');
  } finally {
    setIdleCollector(undefined);
  }
  let quiet = 0;
  setIdleCollector(() => quiet++);
  try {
    await new Promise((r) => setTimeout(r, 3000));
    noteControlActivity(); // a read (no heap growth to collect): the settled collection is skipped
    await new Promise((r) => setTimeout(r, 3800));
    assert.equal(quiet, 0);
  } finally {
    setIdleCollector(undefined);
  }
});

test('idle memory: a collector that shrinks the young generation itself gets no settled collection after a release', async () => {
  let collections = 0;
  setIdleCollector(() => collections++, true);
  try {
    const kept: string[][] = [];
    for (let i = 0; i < 40; i++) {
      noteControlActivity(); // also cancels the start-up's settled collection
      kept.push(Array.from({ length: 2000 }, (_, k) => `session ${i} object ${k}`));
    }
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(collections, 1, 'the release after the burst');
    await new Promise((r) => setTimeout(r, 6800));
    assert.equal(collections, 1, 'and no settled collection after it');
    assert.equal(kept.length, 40);
  } finally {
    setIdleCollector(undefined);
  }
});
