// Installs what the benchmark needs, idempotently: Debian daemons (vsftpd as a package,
// ProFTPD (with its mod_tls) and Pure-FTPd unpacked beside it because the three conflict as packages),
// pyftpdlib, curl, a system account the C daemons can authenticate, and ftp-srv from npm in
// its own folder (never a Wharf dependency).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync, chmodSync, chownSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import * as path from 'node:path';

export const BENCH_DIR = path.resolve(new URL('..', import.meta.url).pathname);
export const PEERS_DIR = path.join(BENCH_DIR, '.peers');
export const UNPACKED = path.join(PEERS_DIR, 'root');
export const PEER_LIBS = path.join(UNPACKED, 'usr/lib/x86_64-linux-gnu');
export const NODE_PEERS = path.join(PEERS_DIR, 'node');
export const SYSTEM_USER = 'wharfbench';

// python3-openssl: pyftpdlib's TLS_FTPHandler (the FTPS rows) needs pyOpenSSL.
const APT_PACKAGES = ['vsftpd', 'python3-pyftpdlib', 'python3-openssl', 'curl', 'openssl'];
// Unpacked with dpkg -x: they conflict with vsftpd as packages. ProFTPD needs a few libraries
// that are not on a minimal Debian; its mod_tls (the FTPS rows) is in proftpd-mod-crypto.
const UNPACKED_PACKAGES = ['proftpd-core', 'proftpd-mod-crypto', 'pure-ftpd', 'libhiredis0.14', 'libmemcached11', 'libmemcachedutil2', 'libhashkit2', 'libpcre2-posix3', 'libsodium23'];
// A module package must match the daemon it is loaded into: fetched at the version of the
// package already unpacked, when there is one.
const SAME_VERSION_AS = { 'proftpd-mod-crypto': 'proftpd-core' };

const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
}

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

let aptUpdated = false;
function aptUpdate() {
  if (aptUpdated) return;
  log('apt-get update');
  run('apt-get', ['update', '-qq']);
  aptUpdated = true;
}

/** Daemons installed from packages must not start as services (NODE-NOTES: policy-rc.d). */
function denyServiceStarts() {
  const file = '/usr/sbin/policy-rc.d';
  if (existsSync(file)) return;
  writeFileSync(file, '#!/bin/sh\nexit 101\n');
  chmodSync(file, 0o755);
}

function ensureApt() {
  const missing = APT_PACKAGES.filter((p) => !installed(p));
  if (!missing.length) return;
  denyServiceStarts();
  aptUpdate();
  log(`apt-get install ${missing.join(' ')}`);
  run('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** The version of a package's .deb in bench/.peers/debs, if it was downloaded. */
function debVersion(debs, pkg) {
  if (!existsSync(debs)) return undefined;
  const f = readdirSync(debs).find((n) => n.startsWith(pkg + '_') && n.endsWith('.deb'));
  return f ? decodeURIComponent(f.split('_')[1]) : undefined; // an epoch is saved as %3a
}

/**
 * Downloads and unpacks whichever of UNPACKED_PACKAGES are not unpacked yet, so a package added
 * to the list reaches an existing bench/.peers on the next run. The marker lists the packages
 * unpacked, one a line; an older marker held only a date, written once every package then
 * listed had been downloaded and unpacked: those are the ones with a .deb in debs/.
 */
function ensureUnpacked() {
  const marker = path.join(UNPACKED, '.complete');
  const debs = path.join(PEERS_DIR, 'debs');
  const done = new Set();
  if (existsSync(marker)) {
    const lines = readFileSync(marker, 'utf8').split('\n').filter(Boolean);
    const legacy = !lines.some((l) => UNPACKED_PACKAGES.includes(l));
    for (const p of UNPACKED_PACKAGES) if (legacy ? debVersion(debs, p) : lines.includes(p)) done.add(p);
  }
  const missing = UNPACKED_PACKAGES.filter((p) => !done.has(p));
  if (!missing.length) return;
  mkdirSync(debs, { recursive: true });
  aptUpdate();
  const wanted = missing.map((p) => {
    const v = SAME_VERSION_AS[p] && debVersion(debs, SAME_VERSION_AS[p]);
    return v ? `${p}=${v}` : p;
  });
  log(`apt-get download ${wanted.join(' ')}`);
  run('apt-get', ['download', ...wanted], { cwd: debs });
  mkdirSync(UNPACKED, { recursive: true });
  for (const p of missing) {
    const f = readdirSync(debs).find((n) => n.startsWith(p + '_') && n.endsWith('.deb'));
    if (!f) throw new Error(`apt-get download left no .deb for ${p}`);
    run('dpkg', ['-x', path.join(debs, f), UNPACKED]);
    done.add(p);
    writeFileSync(marker, [...done].join('\n') + '\n');
  }
}

function ensureFtpSrv() {
  if (existsSync(path.join(NODE_PEERS, 'node_modules/ftp-srv/package.json'))) return;
  mkdirSync(NODE_PEERS, { recursive: true });
  writeFileSync(path.join(NODE_PEERS, 'package.json'), JSON.stringify({ name: 'wharf-bench-peers', private: true }, null, 2) + '\n');
  log('npm install ftp-srv (into bench/.peers/node, not a Wharf dependency)');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'ftp-srv@4'], { cwd: NODE_PEERS });
}

/** A system account for the daemons that authenticate against /etc/shadow. */
export function ensureSystemUser(home, password) {
  const exists = spawnSync('id', [SYSTEM_USER]).status === 0;
  if (!exists) run('useradd', ['--system', '--no-create-home', '--home-dir', home, '--shell', '/bin/bash', SYSTEM_USER]);
  else run('usermod', ['--home', home, SYSTEM_USER]);
  execFileSync('chpasswd', { input: `${SYSTEM_USER}:${password}\n` });
  const uid = Number(run('id', ['-u', SYSTEM_USER]).trim());
  const gid = Number(run('id', ['-g', SYSTEM_USER]).trim());
  return { uid, gid };
}

/** Returns the names of peers that could not be installed (they are skipped, and said so). */
export function setupPeers() {
  const problems = [];
  if (process.getuid?.() !== 0) {
    log('not root: using whatever peers are already installed');
    return problems;
  }
  for (const [what, fn] of [
    ['apt', ensureApt],
    ['unpacked', ensureUnpacked],
    ['ftp-srv', ensureFtpSrv],
  ]) {
    try {
      fn();
    } catch (err) {
      problems.push(`${what}: ${(err.stderr || err.message).toString().trim().split('\n').pop()}`);
      log(`could not install ${what}: ${err.message}`);
    }
  }
  return problems;
}

/**
 * One self-signed certificate and key (ECDSA P-256, 30 days, CN=localhost) shared by every
 * server's FTPS, made once per work folder. Readable by all: the C daemons may read it after
 * dropping privileges.
 */
export function ensureTlsPair(work) {
  const cert = path.join(work, 'tls-cert.pem');
  const key = path.join(work, 'tls-key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=localhost', '-keyout', key, '-out', cert]);
    chmodSync(cert, 0o644);
    chmodSync(key, 0o644);
  }
  return { cert, key };
}

/**
 * The served tree: a big file, a medium file, a folder of `sizes.entries` entries (sizes from
 * sizes.mjs). Reused across runs: only what is missing or of the wrong size is made.
 * @param {{ big: number, medium: number, entries: number }} sizes
 * @param {{ uid: number, gid: number }} [owner] the system account the C daemons write as
 */
export function prepareRoot(root, sizes, owner) {
  const MiB = 1024 * 1024;
  const shown = (p) => path.relative(path.resolve(BENCH_DIR, '..'), p);
  mkdirSync(root, { recursive: true });
  const writeFile = (file, size) => {
    if (existsSync(file) && statSync(file).size === size) return;
    process.stderr.write(`creating ${shown(file)} (${size} bytes)\n`);
    const chunk = randomFillSync(Buffer.alloc(MiB));
    const fd = openSync(file, 'w');
    for (let done = 0; done < size; done += MiB) writeSync(fd, chunk, 0, Math.min(MiB, size - done));
    closeSync(fd);
  };
  writeFile(path.join(root, 'big.bin'), sizes.big);
  writeFile(path.join(root, 'medium.bin'), sizes.medium);
  const many = path.join(root, 'many');
  mkdirSync(many, { recursive: true });
  const have = readdirSync(many).length;
  if (have !== sizes.entries) {
    process.stderr.write(`creating ${sizes.entries} entries in ${shown(many)}\n`);
    for (const name of readdirSync(many)) execFileSync('rm', ['-f', path.join(many, name)]);
    for (let i = 0; i < sizes.entries; i++) writeFileSync(path.join(many, `file-${String(i).padStart(5, '0')}.txt`), 'x'.repeat(i % 100));
  }
  // The C daemons act as the system account: it must be able to write the root.
  chmodSync(root, 0o777);
  if (owner) chownSync(root, owner.uid, owner.gid);
}
