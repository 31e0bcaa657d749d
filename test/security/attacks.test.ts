import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient, connectData, readAll } from '../helpers/raw.js';
import { startServer, TEST_PASSWORD, TEST_USER } from '../helpers/server.js';

test('attack: bounce PORT/EPRT to another host or a privileged port is refused, nothing is connected', async () => {
  const srv = await startServer();
  const victim = net.createServer((s) => {
    victimHits++;
    s.destroy();
  });
  let victimHits = 0;
  await new Promise<void>((r) => victim.listen(0, '127.0.0.2', () => r()));
  const vport = (victim.address() as net.AddressInfo).port;
  try {
    await writeFile(join(srv.root, 'f.txt'), 'payload');
    const c = await RawClient.connect(srv.port);
    await c.read();
    await c.login(TEST_USER, TEST_PASSWORD);
    assert.equal((await c.send(`PORT 127,0,0,2,${vport >> 8},${vport & 255}`)).code, 504);
    assert.equal((await c.send(`EPRT |1|127.0.0.2|${vport}|`)).code, 504);
    assert.equal((await c.send('PORT 127,0,0,1,0,25')).code, 504);
    assert.equal((await c.send('RETR f.txt')).code, 425, 'no data target was accepted');
    await sleep(100);
    assert.equal(victimHits, 0);
    c.close();
  } finally {
    victim.close();
    await srv.close();
  }
});

test('attack: a stolen passive connection from another address gets nothing; the real client gets the file', async () => {
  const srv = await startServer();
  try {
    await writeFile(join(srv.root, 'secret.txt'), 'the secret');
    const c = await RawClient.connect(srv.port);
    await c.read();
    await c.login(TEST_USER, TEST_PASSWORD);
    const r = await c.send('EPSV');
    const port = Number(/\|\|\|(\d+)\|/.exec(r.text)![1]);
    // the thief races to the announced port from 127.0.0.2
    const stolen = await connectData(port, '127.0.0.2').then(
      (thief) => {
        thief.on('error', () => undefined);
        return readAll(thief).catch(() => Buffer.alloc(0));
      },
      () => Buffer.alloc(0), // reset at once
    );
    assert.equal(stolen.length, 0);
    const data = await connectData(port);
    const got = readAll(data);
    assert.ok([125, 150].includes((await c.send('RETR secret.txt')).code));
    assert.equal((await got).toString(), 'the secret');
    assert.equal((await c.read()).code, 226);
    c.close();
  } finally {
    await srv.close();
  }
});

test('attack: user enumeration is not possible (same reply for known and unknown names)', async () => {
  const srv = await startServer({ defender: { maxFailures: 0, maxFailuresPerSession: 0 } });
  try {
    const c = await RawClient.connect(srv.port);
    await c.read();
    const known = [await c.send('USER alice'), await c.send('PASS bad')];
    const unknown = [await c.send('USER nobody-here'), await c.send('PASS bad')];
    assert.deepEqual(known.map((r) => r.text), unknown.map((r) => r.text));
    c.close();
  } finally {
    await srv.close();
  }
});

test('attack: commands before login, and file commands with traversal, reveal nothing', async () => {
  const srv = await startServer();
  try {
    const c = await RawClient.connect(srv.port);
    await c.read();
    for (const cmd of ['RETR /etc/passwd', 'LIST /', 'CWD /etc', 'SIZE /etc/passwd', 'PASV', 'PORT 127,0,0,1,4,1', 'STOR x', 'DELE x', 'SITE CHMOD 777 x']) {
      assert.equal((await c.send(cmd)).code, 530, cmd);
    }
    await c.login(TEST_USER, TEST_PASSWORD);
    for (const path of ['../../../../etc/passwd', '/../../etc/passwd', '..\\..\\etc\\passwd', '/etc/passwd']) {
      const r = await c.send(`SIZE ${path}`);
      assert.equal(r.code, 550, `${path}: ${r.text}`);
    }
    c.close();
  } finally {
    await srv.close();
  }
});
