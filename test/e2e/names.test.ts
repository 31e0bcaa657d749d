import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { startServer, tempDir, TEST_PASSWORD, TEST_USER, type TestServer } from '../helpers/server.js';
import { ftplib, allOk } from '../helpers/pyftp.js';
import { curl, ftpUrl } from '../helpers/curl.js';
import { describeRun } from '../helpers/run.js';

/**
 * Names that break naive servers: non-ASCII, spaces at the start, inside and at the end,
 * quotes, a leading dash (looks like LIST options), '#' and '%' (URL-special). Each goes up,
 * shows in listings, comes back byte-exact and is deleted, through three different clients.
 */
const NAMES = [
  '日本語 ünïcödé.txt',
  ' leading space.txt',
  'inner  two  spaces.txt',
  'trailing space.txt ',
  'double "quoted" name.txt',
  "single 'quoted' name.txt",
  '-rf',
  '-la',
  '#hash.txt',
  '%percent%20.txt',
  'emoji 🚢.txt',
];

let srv: TestServer;
let local: string;
before(async () => {
  srv = await startServer();
  local = await tempDir('wharf-names-local-');
});
after(async () => {
  await srv.close();
  await rm(local, { recursive: true, force: true });
});

const contentFor = (name: string) => `content of <${name}>\n`;

async function basicClient(): Promise<Client> {
  const c = new Client(10_000);
  await c.access({ host: srv.host, port: srv.port, user: TEST_USER, password: TEST_PASSWORD });
  return c;
}

for (const name of NAMES) {
  test(`basic-ftp: ${JSON.stringify(name)} uploads, lists, downloads, renames and deletes`, async () => {
    const dir = `bf-${NAMES.indexOf(name)}`;
    const c = await basicClient();
    try {
      await c.ensureDir(`/${dir}`);
      await c.uploadFrom(Readable.from([Buffer.from(contentFor(name))]), name);
      assert.deepEqual(await readdir(join(srv.root, dir)), [name], 'stored under the exact name');
      assert.equal(await readFile(join(srv.root, dir, name), 'utf8'), contentFor(name));
      assert.deepEqual((await c.list()).map((e) => e.name), [name], 'LIST shows the exact name');
      const parts: Buffer[] = [];
      await c.downloadTo(new Writable({ write(chunk, _e, cb) { parts.push(chunk); cb(); } }), name);
      assert.equal(Buffer.concat(parts).toString(), contentFor(name));
      assert.equal(await c.size(name), Buffer.byteLength(contentFor(name)));
      await c.rename(name, `${name}.moved`);
      assert.ok(existsSync(join(srv.root, dir, `${name}.moved`)));
      await c.remove(`${name}.moved`);
      assert.deepEqual(await readdir(join(srv.root, dir)), []);
    } finally {
      c.close();
    }
  });
}

test('ftplib: every odd name uploads, lists (NLST, MLSD, LIST), downloads and deletes', async () => {
  const dir = 'py';
  const ops: Array<[string, ...Array<string | number>]> = [['login', TEST_USER, TEST_PASSWORD], ['mkd', dir], ['cwd', dir]];
  for (const [i, name] of NAMES.entries()) {
    const src = join(local, `py-src-${i}`);
    await writeFile(src, contentFor(name));
    ops.push(['stor', name, src]);
  }
  ops.push(['nlst'], ['mlsd'], ['list']);
  for (const [i, name] of NAMES.entries()) ops.push(['retr', name, join(local, `py-dst-${i}`)]);
  const results = allOk(await ftplib({ port: srv.port, ops }));
  const nlst = results[3 + NAMES.length] as string[];
  const mlsd = results[4 + NAMES.length] as string[];
  const list = results[5 + NAMES.length] as string[];
  assert.deepEqual([...nlst].sort(), [...NAMES].sort());
  assert.deepEqual([...mlsd].sort(), [...NAMES].sort());
  for (const name of NAMES) assert.ok(list.some((l) => l.endsWith(` ${name}`)), `LIST line for ${JSON.stringify(name)}:\n${list.join('\n')}`);
  assert.deepEqual((await readdir(join(srv.root, dir))).sort(), [...NAMES].sort());
  for (const [i, name] of NAMES.entries()) assert.equal(await readFile(join(local, `py-dst-${i}`), 'utf8'), contentFor(name));
  const del: Array<[string, ...string[]]> = [['login', TEST_USER, TEST_PASSWORD], ['cwd', dir]];
  for (const name of NAMES) del.push(['delete', name]);
  del.push(['cwd', '/'], ['rmd', dir]);
  allOk(await ftplib({ port: srv.port, ops: del }));
  assert.equal(existsSync(join(srv.root, dir)), false);
});

test('curl: every odd name uploads, lists, downloads and deletes', async () => {
  for (const [i, name] of NAMES.entries()) {
    const src = join(local, `curl-src-${i}`);
    await writeFile(src, contentFor(name));
    const up = await curl(['--ftp-create-dirs', '-T', src, ftpUrl(srv.port, `/curl/${name}`)], { user: TEST_USER, password: TEST_PASSWORD });
    assert.equal(up.code, 0, describeRun(`curl upload of ${JSON.stringify(name)}`, up));
    assert.equal(await readFile(join(srv.root, 'curl', name), 'utf8'), contentFor(name));
  }
  const ls = await curl(['--list-only', ftpUrl(srv.port, '/curl/')], { user: TEST_USER, password: TEST_PASSWORD });
  assert.equal(ls.code, 0, describeRun('curl NLST', ls));
  assert.deepEqual(ls.stdout.toString('utf8').split(/\r?\n/).filter(Boolean).sort(), [...NAMES].sort());
  for (const [i, name] of NAMES.entries()) {
    const dst = join(local, `curl-dst-${i}`);
    const down = await curl(['-o', dst, ftpUrl(srv.port, `/curl/${name}`)], { user: TEST_USER, password: TEST_PASSWORD });
    assert.equal(down.code, 0, describeRun(`curl download of ${JSON.stringify(name)}`, down));
    assert.equal(await readFile(dst, 'utf8'), contentFor(name));
    const del = await curl(['-Q', `DELE /curl/${name}`, ftpUrl(srv.port, '/curl/')], { user: TEST_USER, password: TEST_PASSWORD });
    assert.equal(del.code, 0, describeRun(`curl DELE of ${JSON.stringify(name)}`, del));
  }
  assert.deepEqual(await readdir(join(srv.root, 'curl')), []);
});
