import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { CrlfToLf, LfToCrlf } from '../../src/ftp/data/ascii.js';

const run = (t: LfToCrlf | CrlfToLf, chunks: string[]) => text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(t));

test('LF becomes CRLF on the way out, existing CRLF untouched, across chunks', async () => {
  assert.equal(await run(new LfToCrlf(), ['a\nb\r', '\nc\n']), 'a\r\nb\r\nc\r\n');
});

test('CRLF becomes LF on the way in, including a CR/LF split across reads', async () => {
  assert.equal(await run(new CrlfToLf(), ['a\r', '\nb\r\nc\r', 'd\r']), 'a\nb\nc\rd\r');
});
