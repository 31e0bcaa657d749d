import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw.js';

/** Clock ticks per second in /proc/net/tcp's timer column (USER_HZ). */
const TICKS = 100;

/**
 * The kernel's view of the server's end of one control connection: the timer column of
 * /proc/net/tcp ("02:00001770" = keep-alive timer, 0x1770 ticks until it fires).
 */
function serverSideTimer(serverPort: number, clientPort: number): { kind: number; seconds: number } | undefined {
  const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    const [, local, remote, , , timer] = fields;
    if (local!.endsWith(`:${hexPort(serverPort)}`) && remote!.endsWith(`:${hexPort(clientPort)}`)) {
      const [kind, when] = timer!.split(':');
      return { kind: parseInt(kind!, 16), seconds: parseInt(when!, 16) / TICKS };
    }
  }
  return undefined;
}

test('control connections get keep-alive probes after 60 s idle (set once on the listening socket on Linux)', { skip: process.platform !== 'linux' }, async () => {
  const srv = await startServer();
  const clients: RawClient[] = [];
  try {
    // Several connections: each accepted socket must carry the option, not only the first.
    for (let i = 0; i < 3; i++) {
      const c = await RawClient.connect(srv.port);
      clients.push(c);
      assert.equal((await c.read()).code, 220);
    }
    for (const c of clients) {
      const timer = serverSideTimer(srv.port, c.socket.localPort!);
      assert.ok(timer, 'server side of the connection found in /proc/net/tcp');
      assert.equal(timer.kind, 2, 'keep-alive timer armed on the server side');
      assert.ok(timer.seconds > 50 && timer.seconds <= 60, `first probe due in ~60 s, not ${timer.seconds} s`);
    }
    // The client's own socket has no keep-alive: what was seen belongs to the server's end.
    const own = serverSideTimer(clients[0]!.socket.localPort!, srv.port);
    assert.equal(own?.kind, 0);
    assert.equal((await clients[0]!.login('alice', 'wonderland')).code, 230);
  } finally {
    for (const c of clients) c.close();
    await srv.close();
  }
});
