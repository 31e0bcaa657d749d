import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { startServer, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw.js';

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(() => srv.close());

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

test('QUIT: 221, then the server closes the connection even while the client keeps its side open', async () => {
  // allowHalfOpen: the client never sends its FIN on its own, so only the server can end it.
  const socket = net.connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
  let text = '';
  let ended = false;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  socket.on('end', () => (ended = true));
  socket.on('error', () => undefined);
  try {
    assert.ok(await waitFor(() => text.startsWith('220'), 5000), 'greeting');
    socket.write(`USER ${TEST_USER}\r\nPASS ${TEST_PASSWORD}\r\nNOOP\r\nQUIT\r\n`);
    assert.ok(await waitFor(() => ended, 3000), 'the server ended the connection after QUIT');
    const codes = text.trim().split('\r\n').map((l) => l.slice(0, 3));
    assert.deepEqual(codes, ['220', '331', '230', '200', '221']);
    assert.ok(await waitFor(() => srv.server.sessionCount === 0, 2000), 'no session left');
  } finally {
    socket.destroy();
  }
});

test('QUIT from 60 sessions at once: each gets 221 and its connection closed, none is left open', async () => {
  const clients = await Promise.all(Array.from({ length: 60 }, () => RawClient.connect(srv.port)));
  try {
    await Promise.all(clients.map((c) => c.read()));
    await Promise.all(clients.map(async (c) => assert.equal((await c.login(TEST_USER, TEST_PASSWORD)).code, 230)));
    const quits = await Promise.all(clients.map((c) => c.send('QUIT')));
    assert.ok(quits.every((r) => r.code === 221 && r.text.includes('Goodbye')));
    assert.ok(await waitFor(() => clients.every((c) => c.closed), 3000), 'every connection closed');
    assert.ok(await waitFor(() => srv.server.sessionCount === 0, 2000), 'no session left');
  } finally {
    for (const c of clients) c.socket.destroy();
  }
});
