import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeListing } from '../../src/core/native.js';
import { serve, type RunningServe } from '../operate/cli.js';
import { RawClient, readAll } from '../helpers/raw.js';
import { makeOddFolder } from '../helpers/odd-folder.js';
import { startServer } from '../helpers/server.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import type { ListFormatSpec } from '../../src/core/storage/types.js';

// LIST and MLSD of a directory on local disk are formatted in C when the native module is
// loaded (native/listing.c). Both paths must send the same bytes and replies: two `wharf
// serve` processes (one with WHARF_NATIVE=off) serve the SAME root, so every entry, inode
// and timestamp is the same for both, and their outputs are compared byte for byte.

const MANY = 5000;
/** Big enough (~8 MiB of MLSD) that a client that does not read leaves the server waiting on a full socket (the kernel takes ~4 MiB). */
const HUGE = 24_000;
let root: string;
let native: RunningServe;
let javascript: RunningServe;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'wharf-native-listing-'));
  makeOddFolder(root);
  const many = join(root, 'many');
  mkdirSync(many);
  for (let i = 0; i < MANY; i++) writeFileSync(join(many, `file-${String(i).padStart(5, '0')}-${'x'.repeat(i % 40)}.dat`), i % 7 === 0 ? 'data' : '');
  const huge = join(root, 'huge');
  mkdirSync(huge);
  for (let i = 0; i < HUGE; i++) writeFileSync(join(huge, String(i).padStart(6, '0') + 'y'.repeat(244)), '');
  const args = [root, '--host', '127.0.0.1', '--port', '0', '--user', 'alice:wonderland', '--write', '--log-level', 'silent'];
  [native, javascript] = await Promise.all([serve(args), serve(args, { env: { WHARF_NATIVE: 'off' } })]);
});

after(async () => {
  await Promise.all([native?.stop(), javascript?.stop()]);
  rmSync(root, { recursive: true, force: true });
});

async function login(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  assert.equal((await c.read()).code, 220);
  assert.equal((await c.login('alice', 'wonderland')).code, 230);
  return c;
}

/** Runs one listing command: its data bytes and the reply texts (150, then 226 or an error). */
async function list(c: RawClient, command: string): Promise<{ data: Buffer; replies: string[] }> {
  const data = await c.passive();
  const received = readAll(data);
  const first = await c.send(command);
  if (first.code !== 150 && first.code !== 125) {
    // No listing: the server may close the unused data connection with a reset before we
    // destroy it, which rejects the read; nothing is expected from it either way.
    received.catch(() => undefined);
    data.destroy();
    return { data: Buffer.alloc(0), replies: [`${first.code} ${first.text}`] };
  }
  const bytes = await received;
  const last = await c.read(10_000);
  // 125 or 150 depends only on whether the data connection was accepted before the command arrived.
  return { data: bytes, replies: [`1xx ${first.text.slice(4)}`, `${last.code} ${last.text}`] };
}

/** The same commands on both servers: every listing's bytes and replies must match. */
async function sameOnBoth(commands: string[]): Promise<Buffer[]> {
  const [a, b] = await Promise.all([login(native.port), login(javascript.port)]);
  try {
    const outputs: Buffer[] = [];
    for (const command of commands) {
      if (/^(OPTS|CWD|TYPE)\b/.test(command)) {
        const [ra, rb] = [await a.send(command), await b.send(command)];
        assert.deepEqual(ra, rb, command);
        continue;
      }
      const [ra, rb] = [await list(a, command), await list(b, command)];
      assert.deepEqual(ra.replies, rb.replies, `${command}: replies`);
      assert.ok(ra.data.equals(rb.data), `${command}: native and JavaScript listings differ:\n--- native\n${ra.data.toString('latin1')}\n--- javascript\n${rb.data.toString('latin1')}`);
      outputs.push(ra.data);
    }
    return outputs;
  } finally {
    a.close();
    b.close();
  }
}

test('the native listing functions are built and loaded (CI installs a C compiler)', { skip: process.env.WHARF_NATIVE === 'off' }, () => {
  assert.ok(nativeListing, 'dist/native/wharf.node should export listOpen/listFill/listName/listClose');
});

test('LIST and MLSD of a folder of odd entries are byte-identical on the native and JavaScript paths', async () => {
  const [ls, lsOptions, mlsd, lsSub, mlsdSub] = await sameOnBoth(['LIST odd', 'LIST -la odd', 'MLSD odd', 'LIST odd/sub dir', 'MLSD odd/sub dir']);
  const text = ls!.toString('latin1');
  // The fixture is what the comparison is meant to cover.
  assert.match(text, / 1000000000000 |  10000000000 /, 'the sparse file');
  assert.match(text, /^-rwsr-xr-x .* setuid\r$/m);
  assert.match(text, /^-rwSr--r-- .* setuid-noexec\r$/m);
  assert.match(text, /^-rw-r-S--- .* setgid-noexec\r$/m);
  assert.match(text, /^drwxrwxrwt .* sticky\r$/m);
  assert.match(text, /^drwxrwxrwT .* sticky-nox\r$/m);
  assert.match(text, /^\?rw-r--r-- .* fifo\r$/m);
  assert.match(text, /^-rw-r--r--    2 .* hard-linked\r$/m);
  assert.match(text, /^l.* link-outside -> \/etc\/hostname\r$/m);
  assert.match(text, / Jan 0[23]  1960 before-1970\r$/m);
  assert.ok(ls!.includes(Buffer.from([0x2d, 0xe9, 0xff, 0xfe, 0x0d, 0x0a])), 'a name that is not UTF-8 goes out as its bytes');
  assert.ok(ls!.includes(Buffer.from('ünïcödé 日本語 😀\r\n')));
  assert.ok(ls!.includes(Buffer.from(' cr\rlf\nname\r\n')));
  assert.equal(ls!.toString('latin1').split('\r\n').length - 1, 34, 'every entry of odd/ (CR/LF in one name adds none)');
  assert.ok(lsOptions!.equals(ls!), 'LIST -la is LIST');
  const facts = mlsd!.toString('latin1');
  assert.match(facts, /^type=cdir;modify=20220415\d{6};perm=[a-z]+;unique=[0-9a-f]+g[0-9a-f]+;unix\.mode=0\d+; \.\r$/m);
  assert.match(facts, /^type=file;size=10;modify=20231114221321;.* sub-second\r$/m);
  assert.match(facts, /^type=OS\.unix=special;.* fifo\r$/m);
  assert.match(facts, /^type=file;size=1;.*unix\.mode=0644; link-inside\r$/m, 'a link inside the root is described by its target');
  assert.match(facts, /^type=OS\.unix=symlink;.* link-outside\r$/m);
  assert.match(facts, /^type=file;.*unix\.mode=04755; setuid\r$/m);
  assert.match(lsSub!.toString(), / inner\.txt\r\n$/);
  assert.match(mlsdSub!.toString(), /^type=cdir;/);
});

test('MLSD with the facts chosen by OPTS MLST (some, none, all) is byte-identical on both paths', async () => {
  const outputs = await sameOnBoth(['OPTS MLST type;size;perm;', 'MLSD odd', 'OPTS MLST', 'MLSD odd', 'OPTS MLST unique;unix.mode;modify;', 'MLSD odd', 'OPTS MLST size;', 'MLSD odd', 'TYPE A', 'LIST odd', 'MLSD odd']);
  assert.match(outputs[0]!.toString('latin1'), /^type=file;size=0;perm=[a-z]+; empty\r$/m);
  assert.match(outputs[1]!.toString('latin1'), /^ empty\r$/m);
  assert.match(outputs[2]!.toString('latin1'), /^modify=\d{14};unique=[0-9a-f]+g[0-9a-f]+;unix\.mode=0644; empty\r$/m);
  assert.match(outputs[3]!.toString('latin1'), /^size=0; empty\r$/m);
});

test(`${MANY} entries are listed completely, with the same bytes, by both paths`, async () => {
  const [ls, mlsd] = await sameOnBoth(['LIST many', 'MLSD many']);
  const names = new Set(readdirSync(join(root, 'many')));
  const listed = ls!.toString('latin1').split('\r\n').slice(0, -1);
  assert.equal(listed.length, MANY);
  for (const line of listed) assert.ok(names.has(line.slice(line.lastIndexOf(' ') + 1)), line);
  assert.equal(mlsd!.toString('latin1').split('\r\n').length - 1, MANY + 1, 'every entry and the cdir line');
});

for (const which of ['native', 'javascript'] as const) {
  test(`${which} path: ABOR stops a listing the client is not reading, and the session goes on`, async () => {
    const c = await login((which === 'native' ? native : javascript).port);
    try {
      const data = await c.passive();
      data.pause(); // the server fills the socket buffers and waits for room
      const first = await c.send('MLSD huge');
      assert.ok(first.code === 150 || first.code === 125, first.text);
      await new Promise((r) => setTimeout(r, 200));
      const aborted = await c.send('ABOR');
      assert.equal(aborted.code, 426, aborted.text);
      assert.equal((await c.read()).code, 226);
      data.destroy();
      const again = await list(c, 'LIST odd');
      assert.equal(again.replies[1]!.slice(0, 3), '226');
    } finally {
      c.close();
    }
  });
}

test('listing a directory removed after CWD gives the same error reply on both paths', async () => {
  mkdirSync(join(root, 'gone-native'));
  mkdirSync(join(root, 'gone-javascript'));
  const replies: string[][] = [];
  for (const [which, server] of [['native', native], ['javascript', javascript]] as const) {
    const c = await login(server.port);
    try {
      assert.equal((await c.send(`CWD gone-${which}`)).code, 250);
      rmSync(join(root, `gone-${which}`), { recursive: true });
      replies.push((await list(c, 'LIST')).replies, (await list(c, 'MLSD')).replies);
    } finally {
      c.close();
    }
  }
  assert.deepEqual(replies[0], replies[2]);
  assert.deepEqual(replies[1], replies[3]);
  assert.match(replies[0]![0]!, /^550 /);
});

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function threads(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

test('no descriptor leaks: 50 listings (some aborted) leave the native server with the descriptors it had', async () => {
  const pid = native.child.pid!;
  const c = await login(native.port);
  try {
    assert.equal((await list(c, 'LIST odd')).replies.length, 2); // warm up: whatever is opened once
    const before = openFds(pid);
    for (let i = 0; i < 50; i++) {
      const r = await list(c, i % 2 ? 'MLSD odd' : 'LIST many');
      assert.equal(r.replies[1]!.slice(0, 3), '226');
    }
    for (let i = 0; i < 3; i++) {
      const data = await c.passive();
      data.pause();
      await c.send('LIST huge');
      await new Promise((r) => setTimeout(r, 50));
      await c.send('ABOR');
      await c.read();
      data.destroy();
    }
    assert.equal((await c.send('NOOP')).code, 200);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(openFds(pid), before);
  } finally {
    c.close();
  }
});

test('big listings stat with helper threads that end with them: finished, aborted or cut off by a closed session', { skip: !nativeListing && 'no native module' }, async () => {
  // A server of its own: helpers are capped per process, so one left running by an earlier
  // test would only stop new ones from starting, and nothing here could tell.
  const server = await serve([root, '--host', '127.0.0.1', '--port', '0', '--user', 'alice:wonderland', '--log-level', 'silent']);
  const pid = server.child.pid!;
  try {
    const c = await login(server.port);
    assert.equal((await list(c, 'LIST odd')).replies[1]!.slice(0, 3), '226'); // warm up: whatever starts once
    const before = threads(pid);
    for (const command of ['MLSD many', 'LIST many', 'MLSD huge']) assert.equal((await list(c, command)).replies[1]!.slice(0, 3), '226', command);
    const data = await c.passive();
    data.pause(); // the server stops on a full socket, in the middle of the listing
    const first = await c.send('LIST huge');
    assert.ok(first.code === 150 || first.code === 125, first.text);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await c.send('ABOR')).code, 426);
    await c.read();
    data.destroy();
    const cut = await login(server.port);
    const cutData = await cut.passive();
    cutData.pause();
    const cutFirst = await cut.send('MLSD huge');
    assert.ok(cutFirst.code === 150 || cutFirst.code === 125, cutFirst.text);
    await new Promise((r) => setTimeout(r, 100));
    cut.close(); // the session goes while its listing waits for room
    cutData.destroy(); // unread bytes: a reset, which the listing's next write meets
    assert.equal((await c.send('NOOP')).code, 200);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(threads(pid), before);
    c.close();
  } finally {
    await server.stop();
  }
});

test('LIST and MLSD of a directory take the ready-made lines; NLST, globs and single files do not', { skip: !nativeListing && 'no native module' }, async () => {
  const used: string[] = [];
  class Watched extends LocalStorage {
    override listFormatted(vpath: string, spec: ListFormatSpec): AsyncIterable<Buffer> | undefined {
      const lines = super.listFormatted(vpath, spec);
      if (lines) used.push(`${spec.format} ${vpath}`);
      return lines;
    }
  }
  const storage = new Watched(join(root, 'odd'));
  const t = await startServer({ root: join(root, 'odd'), storage: () => storage });
  const c = await login(t.port);
  try {
    for (const command of ['LIST', 'MLSD sub dir', 'NLST', 'LIST set*', 'LIST old', 'NLST sub dir']) {
      const r = await list(c, command);
      assert.equal(r.replies[1]?.slice(0, 3), '226', `${command}: ${r.replies.join(' | ')}`);
    }
    assert.deepEqual(used, ['ls /', 'facts /sub dir']);
  } finally {
    c.close();
    await t.close();
  }
});
