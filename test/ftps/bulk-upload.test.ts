// TLS uploads past 1 MiB are written in batches gathered over an event-loop turn
// (src/core/storage/file-sink.ts BULK_AFTER): appends, cut-off uploads and many records
// must still land byte-exact and in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type * as net from 'node:net';
import { once } from 'node:events';
import { TlsRawClient, startFtpsServer } from './helpers.js';

/** Writes `data` to the socket in pieces of `piece` bytes, waiting for drain. */
async function writeInPieces(socket: tls.TLSSocket, data: Buffer, piece: number): Promise<void> {
  for (let at = 0; at < data.length; at += piece) {
    if (!socket.write(data.subarray(at, at + piece))) await new Promise<void>((r) => socket.once('drain', () => r()));
  }
}

async function secureData(c: TlsRawClient, command: string): Promise<tls.TLSSocket> {
  assert.equal((await c.send('TYPE I')).code, 200); // ASCII, the default, would turn CRLF into LF
  const data = (await c.openData({ session: c.tlsSession! })) as tls.TLSSocket;
  const opening = await c.send(command);
  assert.ok(opening.code === 150 || opening.code === 125, opening.text);
  if (!data.encrypted || !data.getSession()) await new Promise<void>((r) => data.once('secureConnect', () => r()));
  return data;
}

test('TLS APPE of 5 MiB in odd-sized records lands after the existing bytes, in order', async () => {
  const srv = await startFtpsServer();
  try {
    const head = randomBytes(1000);
    await writeFile(join(srv.root, 'log.bin'), head);
    const body = randomBytes(5 * 1024 * 1024 + 333);
    const c = await TlsRawClient.protectedSession(srv.port);
    const data = await secureData(c, 'APPE log.bin');
    await writeInPieces(data, body, 7001); // records of every size, not 16 KiB multiples
    data.end();
    assert.equal((await c.read(15_000)).code, 226);
    const stored = await readFile(join(srv.root, 'log.bin'));
    assert.equal(stored.length, head.length + body.length);
    assert.ok(stored.equals(Buffer.concat([head, body])), 'appended bytes differ');
    c.close();
  } finally {
    await srv.close();
  }
});

test('a TLS upload reset after 4 MiB gets 426 and keeps an exact prefix of what was sent', async () => {
  const srv = await startFtpsServer();
  try {
    const body = randomBytes(4 * 1024 * 1024);
    const c = await TlsRawClient.protectedSession(srv.port);
    assert.equal((await c.send('TYPE I')).code, 200);
    const tcp = (await c.openData(false)) as net.Socket; // TLS goes on top below, so the TCP socket can be reset
    const data = tls.connect({ socket: tcp, session: c.tlsSession!, rejectUnauthorized: false });
    data.on('error', () => undefined);
    const secured = once(data, 'secureConnect'); // the server handshakes before the command's reply
    const opening = await c.send('STOR cut.bin');
    assert.ok(opening.code === 150 || opening.code === 125, opening.text);
    await secured;
    await writeInPieces(data, body, 64 * 1024);
    await new Promise((r) => setTimeout(r, 200)); // let the server read what is in flight
    tcp.resetAndDestroy(); // no close_notify, no FIN: a cut, not an end
    const reply = await c.read(15_000);
    assert.equal(reply.code, 426, reply.text);
    const stored = await readFile(join(srv.root, 'cut.bin'));
    assert.ok(stored.length > 1024 * 1024, `only ${stored.length} bytes kept: the bulk path never ran`);
    assert.ok(stored.equals(body.subarray(0, stored.length)), 'the kept bytes are not a prefix of the upload');
    assert.equal((await c.send('NOOP')).code, 200, 'the session lives on');
    c.close();
  } finally {
    await srv.close();
  }
});
