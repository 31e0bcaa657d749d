/**
 * PROTOCOL.md §4 on an IPv6 control connection (::1): PASV and PORT answer 522, EPSV and
 * EPRT |2| work, EPRT |1| is the wrong family (522), bounce rules hold for IPv6 too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectData, readAll } from '../helpers/raw.js';
import { activeListener, rawSession } from './helpers.js';

async function ipv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

const available = await ipv6Loopback();
const skip = available ? false : '::1 is not available on this machine (no IPv6 loopback): IPv6 rules not tested';

let srv: TestServer | undefined;
before(async () => {
  if (!available) return;
  srv = await startServer({ host: '::1' });
  await writeFile(join(srv.root, 'six.txt'), 'over ipv6');
});
after(() => srv?.close());

test('§4 IPv6 control connection: PASV and PORT get 522', { skip }, async () => {
  const c = await rawSession(srv!, { host: '::1' });
  assert.equal((await c.send('PASV')).code, 522);
  assert.equal((await c.send('PORT 127,0,0,1,200,1')).code, 522);
  assert.equal((await c.send('EPRT |1|127.0.0.1|51200|')).code, 522, 'EPRT with the IPv4 family');
  assert.equal((await c.send('EPSV 1')).code, 522);
  c.close();
});

test('§4 IPv6 control connection: EPSV works (data over ::1)', { skip }, async () => {
  const c = await rawSession(srv!, { host: '::1' });
  const r = await c.send('EPSV');
  assert.equal(r.code, 229);
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(r.text)![1]);
  const data = await connectData(port, undefined, '::1');
  const got = readAll(data);
  c.write('RETR six.txt\r\n');
  assert.equal((await c.read()).code, 125);
  assert.equal((await got).toString(), 'over ipv6');
  assert.equal((await c.read()).code, 226);
  assert.equal((await c.send('EPSV 2')).code, 229);
  c.close();
});

test('§4 IPv6 control connection: EPRT |2|::1|port| connects out; another IPv6 host or a low port is refused', { skip }, async () => {
  const c = await rawSession(srv!, { host: '::1' });
  const l = await activeListener('::1');
  try {
    assert.equal((await c.send(`EPRT |2|::1|${l.port}|`)).code, 200);
    c.write('RETR six.txt\r\n');
    assert.equal((await c.read()).code, 150);
    assert.equal((await readAll(await l.accepted)).toString(), 'over ipv6');
    assert.equal((await c.read()).code, 226);
  } finally {
    l.server.close();
  }
  assert.equal((await c.send('EPRT |2|::2|50000|')).code, 504, 'bounce to another address');
  assert.equal((await c.send('EPRT |2|0:0:0:0:0:0:0:1|1000|')).code, 504, 'privileged port');
  assert.equal((await c.send('EPRT |2|0:0:0:0:0:0:0:1|50000|')).code, 200, 'the long form of ::1 is the same host');
  c.close();
});
